// `imagine bench envs` rows for atari/<game> ids: with ALE compiled in, each game gets a bare
// ALE loop row and a full-wrapper row measured interleaved (envs/atari/ale_bench.h), since
// specs/environments.md asks the wrapper to reach 90 % of the bare loop's steps/s.
#include "imagine/build_info.h"
#include "imagine/cli/bench_envs.h"
#include "imagine/core/error.h"
#include "imagine/envs/atari/roms.h"
#if IMAGINE_HAVE_ALE
#include "imagine/envs/atari/ale_bench.h"
#endif

namespace imagine::cli {

std::vector<std::string> default_atari_bench_ids() {
  std::vector<std::string> ids;
  if (!IMAGINE_HAVE_ALE) return ids;
  if (envs::atari::rom_dir("").empty()) return ids;
  for (const char* game : {"pong", "breakout", "ms_pacman"}) {
    try {
      envs::atari::find_rom(game, "");  // present and the supported dump
      ids.push_back(std::string("atari/") + game);
    } catch (const UserError&) {  // not there, or another dump: not benchmarked unless named
    }
  }
  return ids;
}

#if IMAGINE_HAVE_ALE
std::vector<BenchRow> bench_atari(const std::vector<std::string>& ids, const EnvBenchOptions& bench) {
  std::vector<BenchRow> rows;
  for (const auto& id : ids) {
    // Both loops on this thread, steps per CPU-second: one core by construction.
    const auto r = envs::atari::bench_ale(envs::atari::game_of_id(id), bench.seconds);
    rows.push_back({id, "rgb64", "bare ALE", 1, 1, r.bare_steps_per_s, std::nullopt, std::nullopt, 1.0});
    rows.push_back({id, "rgb64", "single", 1, 1, r.wrapped_steps_per_s, std::nullopt, r.ratio(), 1.0});
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
