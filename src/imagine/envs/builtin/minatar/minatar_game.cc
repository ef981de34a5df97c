#include "imagine/envs/builtin/minatar/minatar_game.h"

#include <cstring>

#include "imagine/core/error.h"

namespace imagine::envs::minatar {

MinAtarGame::MinAtarGame(GameInfo info, const EnvOptions& options)
    : ramping_(options.difficulty_ramping),
      info_(std::move(info)),
      sticky_prob_(options.sticky_action_prob < 0 ? 0.1 : options.sticky_action_prob),
      minimal_(options.minimal_actions) {
  spec_.id = "minatar/" + info_.name;
  spec_.channels = static_cast<int64_t>(info_.channels.size());
  spec_.height = kGrid;
  spec_.width = kGrid;
  spec_.obs_scale = 1.0f;
  if (minimal_) {
    for (int64_t a : info_.minimal_actions) spec_.action_meanings.emplace_back(kActionNames[a]);
  } else {
    for (const char* name : kActionNames) spec_.action_meanings.emplace_back(name);
  }
  spec_.num_actions = static_cast<int64_t>(spec_.action_meanings.size());
  scratch_.resize(static_cast<size_t>(spec_.obs_size()));
  top_palette_.push_back({0, 0, 0});
  for (const Colour& c : info_.palette) top_palette_.push_back(c);
}

void MinAtarGame::write_obs(uint8_t* obs) const {
  std::memset(obs, 0, static_cast<size_t>(spec_.obs_size()));
  write_planes(obs);
}

void MinAtarGame::reset(uint8_t* obs) {
  terminal_ = false;
  reset_game();
  if (obs) write_obs(obs);
}

StepOutcome MinAtarGame::step(int64_t action, uint8_t* obs) {
  if (action < 0 || action >= spec_.num_actions)
    throw std::out_of_range("action " + std::to_string(action) + " outside [0, " +
                            std::to_string(spec_.num_actions) + ") for " + spec_.id);
  const int64_t requested = minimal_ ? info_.minimal_actions[static_cast<size_t>(action)] : action;
  // The sticky draw happens on every step, before any of the game's own draws (rules 1.5, 1.8).
  if (!(rng_.uniform() < sticky_prob_)) last_action_ = requested;
  StepOutcome out;
  if (terminal_) {
    out.terminated = true;
  } else {
    out = step_game(last_action_);
    terminal_ = out.terminated || out.truncated;
  }
  if (obs) write_obs(obs);
  return out;
}

void MinAtarGame::cell_colours(uint8_t* rgb) const {
  write_obs(scratch_.data());
  constexpr int64_t kCells = kGrid * kGrid;
  // top[i]: 1 + the highest active channel of cell i, 0 if none. Branch-free over whole
  // planes so that the compiler vectorises it; then one palette lookup per cell.
  uint8_t top[kCells] = {};
  for (int64_t c = 0; c < spec_.channels; ++c) {
    const uint8_t* plane = scratch_.data() + c * kCells;
    const auto level = static_cast<uint8_t>(c + 1);
    for (int64_t i = 0; i < kCells; ++i) top[i] = plane[i] ? level : top[i];
  }
  for (int64_t i = 0; i < kCells; ++i) {
    const uint8_t* colour = top_palette_[top[i]].data();
    rgb[i * 3] = colour[0];
    rgb[i * 3 + 1] = colour[1];
    rgb[i * 3 + 2] = colour[2];
  }
}

}  // namespace imagine::envs::minatar
