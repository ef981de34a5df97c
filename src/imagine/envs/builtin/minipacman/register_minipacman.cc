#include "imagine/envs/builtin/builtin.h"

namespace imagine::envs {

void register_minipacman(EnvRegistry& registry) {
  // minipacman/{regular,avoid,hunt,ambush,rush}; default step cap 3,000 frames.
  (void)registry;
}

}  // namespace imagine::envs
