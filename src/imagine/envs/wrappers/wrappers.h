#pragma once
// Composable wrappers that every kind of game can use.
#include <vector>

#include "imagine/core/rng.h"
#include "imagine/envs/env.h"
#include "imagine/envs/grid_game.h"

namespace imagine::envs {

// Truncates an episode after `max_steps` agent steps (a terminating step stays terminated).
class TimeLimit : public Wrapper {
 public:
  TimeLimit(EnvPtr inner, int64_t max_steps);
  void reset(uint8_t* obs) override;
  StepOutcome step(int64_t action, uint8_t* obs) override;

 private:
  int64_t max_steps_;
  int64_t steps_ = 0;
};

// With probability p the previous executed action is executed instead of the requested
// one. The previous action starts as 0 and survives resets (as MinAtar and ALE do).
class StickyActions : public Wrapper {
 public:
  StickyActions(EnvPtr inner, double prob);
  void seed(uint64_t seed) override;
  StepOutcome step(int64_t action, uint8_t* obs) override;

 private:
  double prob_;
  int64_t last_action_ = 0;
  Rng rng_;
};

// Renders a grid game's cell colours as an RGB picture of image_size x image_size. The
// picture is kept between steps and only the cells that changed are repainted, so a step
// costs one copy of the picture plus a few blocks.
class RgbRender : public Env {
 public:
  RgbRender(std::unique_ptr<GridGame> game, int64_t image_size);
  const EnvSpec& spec() const override { return spec_; }
  void seed(uint64_t seed) override { game_->seed(seed); }
  void reset(uint8_t* obs) override;
  StepOutcome step(int64_t action, uint8_t* obs) override;

 private:
  void render(uint8_t* obs);
  std::unique_ptr<GridGame> game_;
  EnvSpec spec_;
  GridPainter painter_;
  std::vector<uint8_t> cells_;
  std::vector<uint8_t> painted_cells_;  // the cell colours that canvas_ shows
  std::vector<uint8_t> canvas_;         // 3 x image_size x image_size
};

}  // namespace imagine::envs
