#pragma once
// The copy model, I2A's control (Weber et al. 2017): it "predicts" that nothing changes. Its
// state is the last observed frame, step() returns it with zero reward, so an agent that
// queries it gets no information about the future, only extra computation.
#include <vector>

#include "imagine/models/world_model.h"

namespace imagine::models {

class CopyModel : public WorldModel {
 public:
  // obs_shape: {C, H, W}; obs_scale turns uint8 frames into [0, 1].
  CopyModel(std::vector<int64_t> obs_shape, int64_t num_actions, double obs_scale);

  WorldStatePtr observe(const at::Tensor& obs, const at::Tensor& action, const at::Tensor& first) override;
  WorldStep step(const WorldStatePtr& state, const at::Tensor& action) override;
  WorldStatePtr branch(const WorldStatePtr& state, int64_t k) override;
  at::Tensor features(const WorldStatePtr& state) override;
  at::Tensor feature_map(const WorldStatePtr& state) override;
  at::Tensor decode(const WorldStatePtr& state) override;
  int64_t feature_dim() const override;
  int64_t num_actions() const override { return num_actions_; }
  int64_t context() const override { return 1; }
  void save(torch::serialize::OutputArchive&) const override {}
  void load(torch::serialize::InputArchive&) override {}

 private:
  std::vector<int64_t> obs_shape_;
  int64_t num_actions_;
  double obs_scale_;
};

}  // namespace imagine::models
