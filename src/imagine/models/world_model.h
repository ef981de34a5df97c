#pragma once
// The contract every world model meets, so that agents (I2A's imagination core, an
// actor-critic trained in imagination) work with any of them: the state-space models of
// Buesing et al. (models/ssm), the copy model (I2A's control) and, next, STORM.
//
// States are opaque to agents and immutable: step() and branch() return new states and never
// write into the ones they are given, so one state can be stepped into several futures.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace torch::serialize {
class OutputArchive;
class InputArchive;
}  // namespace torch::serialize

namespace imagine::models {

// A batch of model states; each implementation derives its own.
class WorldState {
 public:
  virtual ~WorldState() = default;
  virtual int64_t batch() const = 0;
};
using WorldStatePtr = std::shared_ptr<const WorldState>;

struct WorldStep {
  WorldStatePtr state;     // after the action
  at::Tensor reward;       // [B] float: predicted reward (summed over a jumpy model's chunk)
  at::Tensor continues;    // [B] float: probability that the episode goes on (1 without a head)
};

class WorldModel {
 public:
  virtual ~WorldModel() = default;

  // obs: [B, L, C, H, W] uint8, oldest first, with the actions taken at them, action [B, L]
  // int64, and first [B, L] bool (an episode starts there) -> the state after obs[:, L-1].
  // Models that need no actions or episode marks ignore them (undefined tensors are fine).
  virtual WorldStatePtr observe(const at::Tensor& obs, const at::Tensor& action, const at::Tensor& first) = 0;
  // action: [B] int64 indices, or [B, jump() * num_actions()] float one-hots (relaxed ones
  // too: gradients reach whatever produced them).
  virtual WorldStep step(const WorldStatePtr& state, const at::Tensor& action) = 0;
  // Each batch element repeated k times (element i becomes rows i*k .. i*k+k-1).
  virtual WorldStatePtr branch(const WorldStatePtr& state, int64_t k) = 0;
  // [B, feature_dim()]: what an agent reads.
  virtual at::Tensor features(const WorldStatePtr& state) = 0;
  // [B, C, h, w] for models whose state is a feature map (convolutional rollout encoders read
  // it); undefined otherwise.
  virtual at::Tensor feature_map(const WorldStatePtr& state) = 0;
  // [B, C, H, W] float in [0, 1]: the frame the state predicts.
  virtual at::Tensor decode(const WorldStatePtr& state) = 0;

  virtual int64_t feature_dim() const = 0;
  virtual int64_t num_actions() const = 0;
  // Environment steps one step() covers.
  virtual int64_t jump() const { return 1; }
  // The frames observe() needs (at least).
  virtual int64_t context() const = 0;

  // The model's parameters and buffers (nothing for models without any).
  virtual void save(torch::serialize::OutputArchive& archive) const = 0;
  virtual void load(torch::serialize::InputArchive& archive) = 0;
  virtual std::vector<at::Tensor> parameters() const { return {}; }
  virtual void to(const c10::Device& /*device*/) {}
  // Training mode (dropout, batch statistics) or evaluation mode.
  virtual void train(bool /*on*/) {}
  void eval() { train(false); }
};

// action: [B] int64 or [B, jump * num_actions] float -> [B, jump * num_actions] float, the
// index form as one-hots (each index repeated over the chunk's jump steps).
at::Tensor action_one_hot(const at::Tensor& action, int64_t num_actions, int64_t jump = 1);

}  // namespace imagine::models
