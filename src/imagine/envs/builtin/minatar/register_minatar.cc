#include <memory>

#include "imagine/envs/builtin/builtin.h"
#include "imagine/envs/builtin/minatar/minatar_game.h"
#include "imagine/envs/builtin/minatar/seaquest.h"
#include "imagine/envs/builtin/minatar/space_invaders.h"

namespace imagine::envs {

void register_minatar(EnvRegistry& registry) {
  // Each game adds one entry here: id minatar/<name>, factory wrapped by finish_grid_game
  // with the default step cap of 10,000.
  registry.add({"minatar/seaquest",
                "MinAtar Seaquest: shoot fish and subs, rescue divers, surface before oxygen runs out",
                {"obs", "image_size", "sticky_action_prob", "max_episode_steps", "minimal_actions",
                 "difficulty_ramping"},
                [](const EnvOptions& options) {
                  return finish_grid_game(std::make_unique<minatar::Seaquest>(options), options, 10000);
                }});
  registry.add({"minatar/space_invaders", "MinAtar Space Invaders: shoot down the advancing block of aliens",
                {"obs", "image_size", "sticky_action_prob", "max_episode_steps", "minimal_actions",
                 "difficulty_ramping"},
                [](const EnvOptions& options) {
                  return finish_grid_game(std::make_unique<minatar::SpaceInvaders>(options), options, 10000);
                }});
}

}  // namespace imagine::envs
