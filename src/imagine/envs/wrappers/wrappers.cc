#include "imagine/envs/wrappers/wrappers.h"

#include <cstring>
#include <utility>

namespace imagine::envs {

TimeLimit::TimeLimit(EnvPtr inner, int64_t max_steps) : Wrapper(std::move(inner)), max_steps_(max_steps) {
  spec_.max_episode_steps = max_steps;
}

void TimeLimit::reset(uint8_t* obs) {
  steps_ = 0;
  inner_->reset(obs);
}

StepOutcome TimeLimit::step(int64_t action, uint8_t* obs) {
  StepOutcome out = inner_->step(action, obs);
  if (++steps_ >= max_steps_ && !out.terminated) out.truncated = true;
  return out;
}

StickyActions::StickyActions(EnvPtr inner, double prob) : Wrapper(std::move(inner)), prob_(prob) {}

void StickyActions::seed(uint64_t seed) {
  // A separate stream from the game's, derived from the same seed.
  rng_.reseed(seed ^ 0x5bd1e9955bd1e995ULL);
  inner_->seed(seed);
}

StepOutcome StickyActions::step(int64_t action, uint8_t* obs) {
  if (!rng_.bernoulli(prob_)) last_action_ = action;
  return inner_->step(last_action_, obs);
}

RgbRender::RgbRender(std::unique_ptr<GridGame> game, int64_t image_size)
    : game_(std::move(game)),
      spec_(game_->spec()),
      painter_(spec_.height, spec_.width, image_size),
      cells_(static_cast<size_t>(spec_.height * spec_.width * 3)),
      // All-black cells paint an all-black canvas, so the two start consistent.
      painted_cells_(cells_.size(), 0),
      canvas_(static_cast<size_t>(3 * image_size * image_size), 0) {
  spec_.channels = 3;
  spec_.height = image_size;
  spec_.width = image_size;
  spec_.obs_scale = 1.0f / 255.0f;
}

void RgbRender::render(uint8_t* obs) {
  if (!obs) return;
  game_->cell_colours(cells_.data());
  painter_.repaint(cells_.data(), painted_cells_.data(), canvas_.data());
  std::swap(cells_, painted_cells_);  // no allocation: the buffers trade places
  std::memcpy(obs, canvas_.data(), canvas_.size());
}

void RgbRender::reset(uint8_t* obs) {
  game_->reset(nullptr);
  render(obs);
}

StepOutcome RgbRender::step(int64_t action, uint8_t* obs) {
  StepOutcome out = game_->step(action, nullptr);
  render(obs);
  return out;
}

}  // namespace imagine::envs
