#include <memory>

#include "imagine/envs/builtin/builtin.h"
#include "imagine/envs/builtin/minatar/asterix.h"
#include "imagine/envs/builtin/minatar/breakout.h"
#include "imagine/envs/builtin/minatar/freeway.h"
#include "imagine/envs/builtin/minatar/minatar_game.h"
#include "imagine/envs/builtin/minatar/seaquest.h"
#include "imagine/envs/builtin/minatar/space_invaders.h"

namespace imagine::envs {

namespace {
// Option keys every MinAtar id reads.
std::vector<std::string> minatar_options() {
  return {"obs", "image_size", "sticky_action_prob", "max_episode_steps", "minimal_actions", "difficulty_ramping"};
}
}  // namespace

void register_minatar(EnvRegistry& registry) {
  // One entry per game: id minatar/<name>, factory wrapped by finish_grid_game with the
  // default step cap of 10,000.
  registry.add({"minatar/breakout", "MinAtar Breakout: clear three rows of bricks with a bouncing ball",
                minatar_options(), [](const EnvOptions& options) {
                  return finish_grid_game(std::make_unique<minatar::Breakout>(options), options, 10000);
                }});
  registry.add({"minatar/asterix", "MinAtar Asterix: collect gold and dodge enemies crossing eight lanes",
                minatar_options(), [](const EnvOptions& options) {
                  return finish_grid_game(std::make_unique<minatar::Asterix>(options), options, 10000);
                }});
  registry.add({"minatar/freeway", "MinAtar Freeway: a chicken crosses eight lanes of traffic (2,501 steps)",
                minatar_options(), [](const EnvOptions& options) {
                  return finish_grid_game(std::make_unique<minatar::Freeway>(options), options, 10000);
                }});
  registry.add({"minatar/seaquest",
                "MinAtar Seaquest: shoot fish and subs, rescue divers, surface before oxygen runs out",
                minatar_options(),
                [](const EnvOptions& options) {
                  return finish_grid_game(std::make_unique<minatar::Seaquest>(options), options, 10000);
                }});
  registry.add({"minatar/space_invaders", "MinAtar Space Invaders: shoot down the advancing block of aliens",
                minatar_options(),
                [](const EnvOptions& options) {
                  return finish_grid_game(std::make_unique<minatar::SpaceInvaders>(options), options, 10000);
                }});
}

}  // namespace imagine::envs
