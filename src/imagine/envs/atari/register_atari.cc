#include "imagine/build_info.h"
#include "imagine/core/error.h"
#include "imagine/envs/builtin/builtin.h"

namespace imagine::envs {

#if !IMAGINE_HAVE_ALE
void register_atari(EnvRegistry& registry) {
  EnvEntry entry;
  entry.id = "atari/<game>";
  entry.description = "real Atari 2600 games through ALE (not compiled in)";
  entry.make = [](const EnvOptions& options) -> EnvPtr {
    throw UnavailableError("'" + options.id +
                           "' needs the Atari backend, which this build does not include: install the ALE C++ "
                           "library, then reconfigure with -DIMAGINE_WITH_ALE=ON "
                           "(and CMAKE_PREFIX_PATH pointing at its prefix)");
  };
  registry.add(std::move(entry));
}
#endif

}  // namespace imagine::envs
