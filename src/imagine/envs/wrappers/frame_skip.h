#pragma once
// Action repeat with max-pooling of the last two frames, and no-op starts: the Atari
// preprocessing of specs/environments.md, written against the generic Env interface.
#include <vector>

#include "imagine/core/rng.h"
#include "imagine/envs/env.h"

namespace imagine::envs {

// An Env whose observations are costly to produce (e.g. an emulator screen) may offer the
// current frame on demand. FrameSkip then steps it with obs = nullptr and fetches only the
// frames it keeps; any other Env is asked for every frame.
class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // Writes the observation of the current state (spec().obs_size() bytes).
  virtual void current_frame(uint8_t* obs) = 0;
  // False for a pass-through wrapper whose inner env offers no frames.
  virtual bool has_current_frame() const { return true; }
  // Optional fast path for max-pooling: remember the current frame (returning true), so
  // that pooled_frame can later write the element-wise max of it and the then current
  // frame in one pass. Returning false makes FrameSkip render both frames itself.
  virtual bool keep_frame() { return false; }
  virtual void pooled_frame(uint8_t* obs) {}
  // env as a usable FrameSource, or nullptr.
  static FrameSource* of(Env* env);
};

// Repeats each action `skip` times, summing rewards and OR-ing life_lost; stops early when
// the inner env terminates or truncates. With max_pool the observation is the element-wise
// max of the last two frames of the step; a step cut short by the episode end shows its
// final frame as it is (there is no second frame of that step to pool with).
class FrameSkip : public Wrapper {
 public:
  FrameSkip(EnvPtr inner, int64_t skip, bool max_pool);
  StepOutcome step(int64_t action, uint8_t* obs) override;

 private:
  int64_t skip_;
  bool max_pool_;
  FrameSource* source_;  // inner_ as a FrameSource, or nullptr
  std::vector<uint8_t> frames_[2];
};

// After each reset, runs a uniformly random number in [0, noop_max] of `noop_action`
// steps of the inner env (rewards discarded; an episode that ends meanwhile is reset).
// Placed under FrameSkip these are emulator frames, as in the DQN protocol. Passes the
// inner env's frames through when it is a FrameSource.
class NoopReset : public Wrapper, public FrameSource {
 public:
  NoopReset(EnvPtr inner, int64_t noop_max, int64_t noop_action = 0);
  void seed(uint64_t seed) override;
  void reset(uint8_t* obs) override;
  void current_frame(uint8_t* obs) override { source_->current_frame(obs); }
  bool has_current_frame() const override { return source_ != nullptr; }
  bool keep_frame() override { return source_->keep_frame(); }
  void pooled_frame(uint8_t* obs) override { source_->pooled_frame(obs); }

 private:
  int64_t noop_max_;
  int64_t noop_action_;
  FrameSource* source_;
  Rng rng_;
};

}  // namespace imagine::envs
