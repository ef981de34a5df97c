#include "imagine/envs/builtin/builtin.h"
#include "imagine/envs/builtin/minatar/minatar_game.h"

namespace imagine::envs {

void register_minatar(EnvRegistry& registry) {
  // Each game adds one entry here: id minatar/<name>, factory wrapped by finish_grid_game
  // with the default step cap of 10,000.
  (void)registry;
}

}  // namespace imagine::envs
