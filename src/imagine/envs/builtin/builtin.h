#pragma once
// Registration of each family of environments, and the finishing wrappers they share.
#include <memory>

#include "imagine/envs/grid_game.h"
#include "imagine/envs/registry.h"

namespace imagine::envs {

void register_minatar(EnvRegistry& registry);
void register_minipacman(EnvRegistry& registry);
void register_atari(EnvRegistry& registry);

// Applies the options common to grid games: RGB rendering when obs = "rgb", and the step
// cap (options.max_episode_steps, or `default_max_steps` when that is 0).
EnvPtr finish_grid_game(std::unique_ptr<GridGame> game, const EnvOptions& options, int64_t default_max_steps);

}  // namespace imagine::envs
