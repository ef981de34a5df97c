#include "imagine/envs/builtin/builtin.h"
#include "imagine/envs/builtin/minipacman/minipacman.h"

namespace imagine::envs {

void register_minipacman(EnvRegistry& registry) {
  using minipacman::Mode;
  struct Entry {
    Mode mode;
    const char* description;
  };
  const Entry entries[] = {
      {Mode::kRegular, "MiniPacman (I2A): eat all food; pills let you eat ghosts"},
      {Mode::kAvoid, "MiniPacman avoid: rewarded for surviving, penalised for eating; levels last 128 steps"},
      {Mode::kHunt, "MiniPacman hunt: eat pills, then hunt every ghost to end a level"},
      {Mode::kAmbush, "MiniPacman ambush: eat every ghost, food is penalised and pills are worth nothing"},
      {Mode::kRush, "MiniPacman rush: eat both pills as fast as possible, food is penalised"},
  };
  for (const Entry& e : entries) {
    const Mode mode = e.mode;
    registry.add({std::string("minipacman/") + minipacman::mode_rules(mode).name, e.description,
                  {"obs", "image_size", "sticky_action_prob", "max_episode_steps"},
                  [mode](const EnvOptions& options) {
                    return finish_grid_game(std::make_unique<minipacman::MiniPacman>(mode, options), options,
                                            minipacman::kDefaultFrameCap);
                  }});
  }
}

}  // namespace imagine::envs
