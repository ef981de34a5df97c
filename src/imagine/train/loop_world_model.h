#pragma once
// The world model of the joint loop (kind = "storm", storm.world_model_class): STORM's, or a
// state-space model of Buesing et al. (dssm_det, dssm_vae, sssm) trained online on replay
// windows inside episodes. The loop (act -> store -> world-model update -> imagination ->
// actor-critic update) reaches it only through this interface and the world-model contract,
// so the same actor-critic learns in the imagination of either.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "imagine/core/checkpoint.h"
#include "imagine/core/rng.h"
#include "imagine/data/replay_buffer.h"
#include "imagine/envs/env.h"
#include "imagine/models/world_model.h"
#include "imagine/train/config.h"

namespace imagine::train {

class LoopWorldModel {
 public:
  virtual ~LoopWorldModel() = default;

  // The model behind the contract (shares the trained parameters).
  virtual models::WorldModel& model() = 0;
  // One training update on windows sampled from `replay` with `rng`: detached scalar metrics
  // named "world_model/...". Raises DivergenceError on a non-finite loss or weight.
  virtual std::map<std::string, at::Tensor> update(const data::ReplayBuffer& replay, Rng& rng, int64_t step) = 0;

  // Imagination starts from real context windows of this many rows, sampled within episodes
  // when windows_within_episode() (the state-space models roll one episode forward).
  virtual int64_t imagination_context() const = 0;
  virtual bool windows_within_episode() const = 0;
  // context: obs [B, L, C, H, W] uint8, action and first [B, L] on the model's device -> the
  // states the first imagined action is taken from: the frame after the context, predicted
  // with the context's last action (STORM's reference start), or, where
  // !starts_after_context(), the context's last frame.
  virtual models::WorldStatePtr imagination_start(const data::Batch& context) = 0;
  virtual bool starts_after_context() const { return true; }

  // The acting state of the current frame obs [C, H, W], given the episode's previous frames
  // and actions (oldest first, at most storm.acting_context - 1 of them); null when the policy
  // must act uniformly at random (STORM's reference acting at an episode's first step).
  virtual models::WorldStatePtr acting_state(const std::vector<at::Tensor>& frames,
                                             const std::vector<int64_t>& actions, const at::Tensor& obs) = 0;

  // frames: [T, C, H, W] uint8 -> [T, C, H, W] float in [0, 1], the model's reconstruction of
  // each frame; undefined when the model has none to show (media then skip it).
  virtual at::Tensor reconstruct(const at::Tensor& frames) { return {}; }

  // Archive entries "world_model" and "world_model_optimiser".
  virtual void save(OutputArchive& archive) = 0;
  virtual void load(InputArchive& archive) = 0;
  // "world_model/<part>" counts and "world_model", the total.
  virtual std::vector<std::pair<std::string, int64_t>> parameter_counts() = 0;
};

// The loop's world model for config.storm.world_model_class, on `device`; bf16: forward passes
// under bf16 autocast (precision = "bf16", STORM only).
std::unique_ptr<LoopWorldModel> make_loop_world_model(const Config& config, const envs::EnvSpec& spec,
                                                      c10::Device device, bool bf16);

// The same model's checks of a config for `spec` (raises UserError).
void validate_loop_world_model(const Config& config, const envs::EnvSpec& spec);

// The trained world model of a kind = "storm" checkpoint's archive, behind the contract.
std::shared_ptr<models::WorldModel> load_loop_world_model(const Config& config, const envs::EnvSpec& spec,
                                                          InputArchive& archive);

}  // namespace imagine::train
