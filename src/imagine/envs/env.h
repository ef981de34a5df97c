#pragma once
// The environment contract. A single Env is plain C++ that writes observations into
// caller-owned memory (no allocation per step); VectorEnv (vector_env.h) batches N of
// them into preallocated tensors. Semantics: specs/environments.md.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace imagine::envs {

struct EnvSpec {
  std::string id;
  // Observation: uint8, channels x height x width.
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  // Multiply stored values by this to get [0, 1] (1/255 for RGB, 1 for binary planes).
  float obs_scale = 1.0f;
  int64_t num_actions = 0;
  std::vector<std::string> action_meanings;
  // Emulator frames per agent step (4 for Atari, 1 for the built-in games).
  int64_t frame_skip = 1;
  // Truncation cap in agent steps; 0 means none.
  int64_t max_episode_steps = 0;

  std::vector<int64_t> obs_shape() const { return {channels, height, width}; }
  int64_t obs_size() const { return channels * height * width; }
};

// What one agent step did. `reward` is the step's total (summed over skipped frames).
struct StepOutcome {
  float reward = 0.0f;
  bool terminated = false;  // the game ended (death, goal)
  bool truncated = false;   // a time limit cut the episode
  bool life_lost = false;   // a life was lost but the game goes on
};

class Env {
 public:
  virtual ~Env() = default;
  virtual const EnvSpec& spec() const = 0;
  // Seeds every random stream of the env; the next reset starts from it.
  virtual void seed(uint64_t seed) = 0;
  // Starts an episode and writes its first observation (spec().obs_size() bytes, C x H x W).
  // `obs` may be nullptr when the caller does not need this observation (e.g. a renderer
  // or a frame-skip wrapper); the state still advances identically.
  virtual void reset(uint8_t* obs) = 0;
  // One agent decision; writes the resulting observation (or nothing if obs is nullptr).
  // After terminated or truncated the caller must reset before stepping again.
  virtual StepOutcome step(int64_t action, uint8_t* obs) = 0;
};

using EnvPtr = std::unique_ptr<Env>;

// An Env that forwards to an inner Env; wrappers override what they change.
class Wrapper : public Env {
 public:
  explicit Wrapper(EnvPtr inner) : inner_(std::move(inner)), spec_(inner_->spec()) {}
  const EnvSpec& spec() const override { return spec_; }
  void seed(uint64_t seed) override { inner_->seed(seed); }
  void reset(uint8_t* obs) override { inner_->reset(obs); }
  StepOutcome step(int64_t action, uint8_t* obs) override { return inner_->step(action, obs); }
  Env& inner() { return *inner_; }

 protected:
  EnvPtr inner_;
  EnvSpec spec_;
};

}  // namespace imagine::envs
