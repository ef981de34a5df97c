// `imagine bench envs` rows for atari/<game> ids. The Atari backend owns this file: with
// ALE compiled in it should add a bare-ALE-loop row next to the full-wrapper one, since
// specs/environments.md asks the wrapper to reach 90 % of the bare loop's steps/s.
#include "imagine/build_info.h"
#include "imagine/cli/bench_envs.h"
#include "imagine/core/error.h"

namespace imagine::cli {

#if IMAGINE_HAVE_ALE
std::vector<BenchRow> bench_atari(const std::vector<std::string>& ids, const EnvBenchOptions& bench) {
  std::vector<BenchRow> rows;
  for (const auto& id : ids) {
    envs::EnvOptions options;
    options.id = id;
    const Rate rate = measure_single(options, bench);
    rows.push_back({id, "default", "single", 1, 1, rate.steps_per_s, std::nullopt, rate.cores});
  }
  return rows;
}
#else
std::vector<BenchRow> bench_atari(const std::vector<std::string>& ids, const EnvBenchOptions&) {
  if (!ids.empty())
    throw UnavailableError("cannot benchmark '" + ids.front() +
                           "': this build has no Atari backend (install ALE, reconfigure with -DIMAGINE_WITH_ALE=ON)");
  return {};
}
#endif

}  // namespace imagine::cli
