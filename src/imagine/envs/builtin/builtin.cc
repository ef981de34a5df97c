#include "imagine/envs/builtin/builtin.h"

#include "imagine/envs/wrappers/wrappers.h"

namespace imagine::envs {

EnvPtr finish_grid_game(std::unique_ptr<GridGame> game, const EnvOptions& options, int64_t default_max_steps) {
  EnvPtr env;
  if (options.obs == Observation::kRgb) env = std::make_unique<RgbRender>(std::move(game), options.image_size);
  else env = std::move(game);
  const int64_t cap = options.max_episode_steps > 0 ? options.max_episode_steps : default_max_steps;
  return std::make_unique<TimeLimit>(std::move(env), cap);
}

}  // namespace imagine::envs
