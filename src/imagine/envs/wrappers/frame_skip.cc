#include "imagine/envs/wrappers/frame_skip.h"

#include <algorithm>
#include <cstring>

#include "imagine/core/error.h"

namespace imagine::envs {

FrameSource* FrameSource::of(Env* env) {
  auto* source = dynamic_cast<FrameSource*>(env);
  return source && source->has_current_frame() ? source : nullptr;
}

FrameSkip::FrameSkip(EnvPtr inner, int64_t skip, bool max_pool)
    : Wrapper(std::move(inner)), skip_(skip), max_pool_(max_pool), source_(FrameSource::of(inner_.get())) {
  if (skip < 1) throw UserError("frame_skip must be at least 1, got " + std::to_string(skip));
  spec_.frame_skip = inner_->spec().frame_skip * skip;
  for (auto& f : frames_) f.resize(static_cast<size_t>(spec_.obs_size()));
}

StepOutcome FrameSkip::step(int64_t action, uint8_t* obs) {
  StepOutcome total;
  const size_t size = frames_[0].size();
  int64_t done = 0;         // frames run
  int last = 0;             // index into frames_ of the newest frame (generic path)
  bool source_kept = false;  // the source remembered frame skip - 2 itself
  for (int64_t i = 0; i < skip_; ++i) {
    // Without a FrameSource every frame is captured, alternating between two buffers.
    uint8_t* target = nullptr;
    if (obs && !source_) {
      last = static_cast<int>(i & 1);
      target = frames_[last].data();
    }
    const StepOutcome out = inner_->step(action, target);
    ++done;
    total.reward += out.reward;
    total.life_lost = total.life_lost || out.life_lost;
    if (out.terminated || out.truncated) {
      total.terminated = out.terminated;
      total.truncated = out.truncated;
      break;
    }
    if (obs && source_ && max_pool_ && i == skip_ - 2) {
      source_kept = source_->keep_frame();
      if (!source_kept) source_->current_frame(frames_[0].data());
    }
  }
  // A life lost on the frame that ends the game is not reported separately.
  if (total.terminated) total.life_lost = false;
  if (!obs) return total;

  const bool pool = max_pool_ && done == skip_ && skip_ >= 2;
  if (source_) {
    if (pool && source_kept) {
      source_->pooled_frame(obs);
      return total;
    }
    source_->current_frame(obs);
    if (pool) {
      const uint8_t* prev = frames_[0].data();
      for (size_t k = 0; k < size; ++k) obs[k] = std::max(obs[k], prev[k]);
    }
  } else {
    const uint8_t* newest = frames_[last].data();
    if (pool) {
      const uint8_t* prev = frames_[1 - last].data();
      for (size_t k = 0; k < size; ++k) obs[k] = std::max(newest[k], prev[k]);
    } else {
      std::memcpy(obs, newest, size);
    }
  }
  return total;
}

NoopReset::NoopReset(EnvPtr inner, int64_t noop_max, int64_t noop_action)
    : Wrapper(std::move(inner)),
      noop_max_(noop_max),
      noop_action_(noop_action),
      source_(FrameSource::of(inner_.get())) {
  if (noop_max < 0) throw UserError("noop_max must be >= 0, got " + std::to_string(noop_max));
}

void NoopReset::seed(uint64_t seed) {
  rng_.reseed(seed ^ 0x6a09e667f3bcc909ULL);  // a stream apart from the inner env's
  inner_->seed(seed);
}

void NoopReset::reset(uint8_t* obs) {
  const int64_t n = rng_.uniform_int(0, noop_max_);
  // A FrameSource renders only the final state; other envs render it as they step.
  uint8_t* last = source_ ? nullptr : obs;
  inner_->reset(n == 0 ? last : nullptr);
  for (int64_t i = 0; i < n; ++i) {
    uint8_t* target = i == n - 1 ? last : nullptr;
    const StepOutcome out = inner_->step(noop_action_, target);
    if (out.terminated || out.truncated) inner_->reset(target);
  }
  if (source_ && obs) source_->current_frame(obs);
}

}  // namespace imagine::envs
