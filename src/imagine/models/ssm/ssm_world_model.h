#pragma once
// The environment models of Buesing et al. (AR, RAR, dSSM-DET, dSSM-VAE, sSSM, jumpy ones)
// behind the world-model contract. The state's feature map is s (with z for the latent
// classes); the model has no continue head yet, so continues are 1.
#include "imagine/models/ssm/env_model.h"
#include "imagine/models/world_model.h"

namespace imagine::models::ssm {

class SsmWorldModel : public models::WorldModel {
 public:
  explicit SsmWorldModel(EnvModel model) : model_(std::move(model)) {}

  WorldStatePtr observe(const at::Tensor& obs, const at::Tensor& action, const at::Tensor& first) override;
  WorldStep step(const WorldStatePtr& state, const at::Tensor& action) override;
  WorldStatePtr branch(const WorldStatePtr& state, int64_t k) override;
  at::Tensor features(const WorldStatePtr& state) override;
  at::Tensor feature_map(const WorldStatePtr& state) override;
  at::Tensor decode(const WorldStatePtr& state) override;
  int64_t feature_dim() const override { return model_->feature_dim(); }
  int64_t num_actions() const override { return model_->options().num_actions; }
  int64_t jump() const override { return model_->env_steps_per_call(); }
  int64_t context() const override { return model_->options().context; }
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;
  std::vector<at::Tensor> parameters() const override { return model_->parameters(); }
  void to(const c10::Device& device) override { model_->to(device); }
  void train(bool on) override { model_->train(on); }

  EnvModel& model() { return model_; }

 private:
  EnvModel model_;
};

}  // namespace imagine::models::ssm
