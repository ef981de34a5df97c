#include "imagine/build_info.h"
#include "imagine/core/error.h"
#include "imagine/envs/atari/roms.h"
#include "imagine/envs/builtin/builtin.h"
#if IMAGINE_HAVE_ALE
#include "imagine/envs/atari/ale_env.h"
#endif

namespace imagine::envs {

void register_atari(EnvRegistry& registry) {
  EnvEntry entry;
  entry.id = "atari/<game>";
  entry.options = {"rom_dir",  "sticky_action_prob", "max_episode_steps", "image_size", "frame_skip",
                   "max_pool", "resize",             "grayscale",         "noop_max"};
#if IMAGINE_HAVE_ALE
  entry.description = "real Atari 2600 games through ALE with Atari 100k preprocessing (" +
                      std::to_string(atari::known_games().size()) + " known ROMs, e.g. atari/pong)";
  entry.make = [](const EnvOptions& options) -> EnvPtr { return atari::make_atari_env(options); };
#else
  entry.description = "real Atari 2600 games through ALE (not compiled in)";
  entry.make = [](const EnvOptions& options) -> EnvPtr {
    // Mistakes that need no emulator are reported first: unknown game, and a configured
    // ROM folder whose file is missing or not a supported dump.
    const std::string game = atari::game_of_id(options.id);
    if (!atari::rom_dir(options.rom_dir).empty()) atari::find_rom(game, options.rom_dir);
    throw UnavailableError("'" + options.id +
                           "' needs the Atari backend, which this build does not include: install the ALE C++ "
                           "library, then reconfigure with -DIMAGINE_WITH_ALE=ON "
                           "(and CMAKE_PREFIX_PATH pointing at its prefix)");
  };
#endif
  registry.add(std::move(entry));
}

}  // namespace imagine::envs
