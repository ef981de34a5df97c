#pragma once
// STORM's world model behind the world-model contract (models/world_model.h).
//
// State after observing frames o_0..o_t: the KV cache of positions 0..t-1 (each consumed
// (z_j, a_j)), h = the output of position t-1 (zeros when no position of the episode was
// consumed), and z = the latent the next position consumes: the posterior sample of o_t after
// observe(), the prior sample after step(). features = [z, h], the actor-critic's input;
// decode() draws z. So observe() gives the "posterior" acting feature of the STORM job, and
// observe() of a context followed by step() with its last action gives the reference's
// imagination start (the prior's guess of the next latent).
//
// Branching KV caches: states that descend from one observe() share one cache buffer of
// max_positions; a state reads only positions < its length. step() writes position `length`
// in place when no state has written it yet, so a plain rollout never copies, and copies the
// buffer first when a sibling already has (copy on write), or under autograd (the buffer's
// earlier values are saved for backward). branch(k) copies the buffer with each row repeated k
// times. Neither ever changes what another state reads.
#include <memory>

#include "imagine/models/storm/world_model.h"
#include "imagine/models/world_model.h"

namespace imagine::models::storm {

// Cache memory shared by the states of one rollout; cache.length counts the positions any of
// them has written.
struct SharedCache {
  nn::KVCache cache;
};

struct StormState : WorldState {
  std::shared_ptr<SharedCache> memory;
  int64_t length = 0;        // positions this state reads
  at::Tensor segment_start;  // [B] int64: episode start of position length-1
  at::Tensor z;              // [B, V*K] latent the next position consumes
  at::Tensor h;              // [B, D] output of position length-1 (zeros when it is in another episode)
  at::Tensor first;          // [B] bool: z starts an episode; undefined when no row does
  int64_t batch() const override { return z.size(0); }
};

class StormWorldModel : public models::WorldModel {
 public:
  // obs_scale: multiplies the uint8 frames (1/255 for RGB, 1 for symbolic planes). The module
  // is shared (a job keeps training it); its train/eval mode is the owner's to set.
  StormWorldModel(storm::WorldModel module, double obs_scale) : module_(std::move(module)), obs_scale_(obs_scale) {}

  WorldStatePtr observe(const at::Tensor& obs, const at::Tensor& action, const at::Tensor& first) override;
  WorldStep step(const WorldStatePtr& state, const at::Tensor& action) override;
  WorldStatePtr branch(const WorldStatePtr& state, int64_t k) override;
  at::Tensor features(const WorldStatePtr& state) override;
  at::Tensor feature_map(const WorldStatePtr&) override { return {}; }
  at::Tensor decode(const WorldStatePtr& state) override;
  int64_t feature_dim() const override { return module_->feature_dim(); }
  int64_t num_actions() const override { return module_->options().num_actions; }
  int64_t context() const override { return 1; }
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;
  std::vector<at::Tensor> parameters() const override { return module_->parameters(); }
  void to(const c10::Device& device) override { module_->to(device); }
  void train(bool on) override { module_->train(on); }

  storm::WorldModel& module() { return module_; }
  static const StormState& state_of(const WorldStatePtr& state);

 private:
  storm::WorldModel module_;
  double obs_scale_;
};

}  // namespace imagine::models::storm
