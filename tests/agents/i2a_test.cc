// The imagination-augmented agent: rollout shapes, the forced first action, the reversed LSTM,
// branching, and both ways of learning to query (distillation, backpropagation through the
// frozen model).
#include "imagine/agents/i2a/i2a.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>

#include "imagine/core/error.h"
#include "imagine/models/copy_model.h"
#include "imagine/models/ssm/ssm_world_model.h"

namespace imagine::agents {
namespace {

constexpr int64_t kSide = 16, kChannels = 3, kActions = 3, kBatch = 2;

envs::EnvSpec spec() {
  envs::EnvSpec s;
  s.id = "test";
  s.channels = kChannels;
  s.height = kSide;
  s.width = kSide;
  s.num_actions = kActions;
  s.obs_scale = 1.0 / 255;
  return s;
}

std::shared_ptr<models::WorldModel> sssm() {
  models::ssm::EnvModelOptions o;
  o.model_class = models::ssm::ModelClass::kSssm;
  o.context = 2;
  o.horizon = 2;
  o.image_channels = kChannels;
  o.image_size = kSide;
  o.num_actions = kActions;
  o.latent_channels = 4;
  o.width_scale = 0.125;
  return std::make_shared<models::ssm::SsmWorldModel>(models::ssm::EnvModel(o));
}

I2AOptions options(RolloutPolicyKind rollout_policy, int64_t depth = 4) {
  I2AOptions o;
  o.rollout_policy = rollout_policy;
  o.depth = depth;
  o.encoder_channels = 4;
  o.encoder_hidden = 8;
  o.lstm_hidden = 8;
  o.rollout_policy_hidden = 8;
  return o;
}

at::Tensor frames(int64_t l, uint64_t seed = 3) {
  auto gen = at::detail::createCPUGenerator(seed);
  return torch::randint(0, 256, {kBatch, l, kChannels, kSide, kSide}, gen, torch::kUInt8);
}

std::map<std::string, at::Tensor> parameters_of(torch::nn::Module& m, const std::string& child) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : m.named_parameters())
    if (p.key().rfind(child + ".", 0) == 0) out[p.key()] = p.value();
  return out;
}

TEST(I2ATest, OneRolloutPerActionWithTheFirstActionForced) {
  torch::manual_seed(0);
  auto model = sssm();
  I2ANet net(spec(), model, options(RolloutPolicyKind::kUniform, 4), 16);
  const ImaginedRollouts r = net->imagine(frames(2));
  ASSERT_EQ(r.inputs.dim(), 5);  // the sSSM's feature map
  EXPECT_EQ(r.inputs.size(0), 4);
  EXPECT_EQ(r.inputs.size(1), kBatch * kActions);
  EXPECT_EQ(r.rewards.sizes(), torch::IntArrayRef({4, kBatch * kActions}));
  EXPECT_TRUE(torch::equal(r.actions[0], torch::arange(kActions).repeat({kBatch})));
  EXPECT_EQ(r.start_features.sizes(), torch::IntArrayRef({kBatch, model->feature_dim()}));
  // Rollouts of different first actions from the same observation stay apart.
  EXPECT_FALSE(torch::allclose(r.inputs[0][0], r.inputs[0][1]));
  // ... and each observation's rollouts start from its own state.
  EXPECT_FALSE(torch::allclose(r.inputs[0][0], r.inputs[0][kActions]));
  const auto out = net->forward(frames(2));
  EXPECT_EQ(out.logits.sizes(), torch::IntArrayRef({kBatch, kActions}));
  EXPECT_EQ(out.value.sizes(), torch::IntArrayRef({kBatch}));
  EXPECT_FALSE(out.aux_loss.defined());  // uniform: nothing to distil
}

TEST(I2ATest, TheLstmReadsTheRolloutFromItsLastStep) {
  torch::manual_seed(0);
  I2ANet net(spec(), sssm(), options(RolloutPolicyKind::kUniform, 3), 16);
  torch::NoGradGuard no_grad;
  const ImaginedRollouts r = net->imagine(frames(2));
  const at::Tensor embedding = net->encode(r, kBatch);
  ASSERT_EQ(embedding.sizes(), torch::IntArrayRef({kBatch, kActions * 8}));
  // By hand: encode each step, append the reward, run the LSTM from the last step back.
  auto children = net->named_children();
  auto encoder = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(children["state_encoder"]);
  auto lstm = std::dynamic_pointer_cast<torch::nn::LSTMImpl>(children["lstm"]);
  ASSERT_TRUE(encoder && lstm);
  const at::Tensor steps =
      torch::cat({encoder->forward(r.inputs.flatten(0, 1)).view({3, kBatch * kActions, -1}), r.rewards.unsqueeze(-1)}, -1);
  const at::Tensor reversed = std::get<0>(lstm->forward(steps.flip({0}))).select(0, 2).reshape({kBatch, -1});
  const at::Tensor forward = std::get<0>(lstm->forward(steps)).select(0, 2).reshape({kBatch, -1});
  EXPECT_TRUE(torch::allclose(embedding, reversed, 1e-6, 1e-6));
  EXPECT_FALSE(torch::allclose(embedding, forward, 1e-4, 1e-4));
}

TEST(I2ATest, WithTheCopyModelEveryImaginedStateIsTheObservation) {
  auto copy = std::make_shared<models::CopyModel>(std::vector<int64_t>{kChannels, kSide, kSide}, kActions, 1.0 / 255);
  I2ANet net(spec(), copy, options(RolloutPolicyKind::kUniform, 3), 16);
  const at::Tensor obs = frames(1).select(1, 0);  // the copy model looks at one frame
  const ImaginedRollouts r = net->imagine(obs);
  const at::Tensor expected = (obs.to(torch::kFloat) / 255).repeat_interleave(kActions, 0);
  for (int64_t d = 0; d < 3; ++d) EXPECT_TRUE(torch::allclose(r.inputs[d], expected));
  EXPECT_EQ(r.rewards.abs().sum().item<double>(), 0.0);
}

// Distillation: its loss reaches only the rollout policy, and minimising it lowers the
// cross-entropy to the agent's policy (two public re-implementations got the sign wrong).
TEST(I2ATest, DistillationTrainsOnlyTheRolloutPolicyTowardsTheAgent) {
  torch::manual_seed(0);
  I2ANet net(spec(), sssm(), options(RolloutPolicyKind::kDistill), 16);
  const at::Tensor obs = frames(2);
  const auto out = net->forward(obs);
  ASSERT_TRUE(out.aux_loss.defined());
  out.aux_loss.backward();
  for (const auto& p : net->named_parameters()) {
    const bool rollout = p.key().rfind("rollout_policy.", 0) == 0;
    const double g = p.value().grad().defined() ? p.value().grad().abs().sum().item<double>() : 0.0;
    if (rollout) {
      EXPECT_GT(g, 0.0) << p.key();
    } else {
      EXPECT_EQ(g, 0.0) << p.key();
    }
  }
  // Through the A2C learner's optimiser: the rollout policy's weights move and the
  // cross-entropy falls.
  A2COptions o;
  o.lr = 3e-3;
  auto shared = net.ptr();
  A2CAgent agent(shared, o);
  auto cross_entropy = [&] {  // the loss is formed only where gradients are (training)
    torch::manual_seed(5);
    return net->forward(obs).aux_loss.item<double>();
  };
  const auto before = parameters_of(*net, "rollout_policy")["rollout_policy.0.weight"].clone();
  const double ce_before = cross_entropy();
  A2CRollout r;
  r.obs = obs.unsqueeze(0);
  r.action = torch::zeros({1, kBatch}, torch::kLong);
  r.reward = torch::zeros({1, kBatch});
  r.terminated = torch::ones({1, kBatch}, torch::kBool);
  r.truncated = torch::zeros({1, kBatch}, torch::kBool);
  r.final_obs = r.obs;
  r.last_obs = obs;
  for (int i = 0; i < 40; ++i) agent.update(r);
  EXPECT_FALSE(torch::equal(before, parameters_of(*net, "rollout_policy")["rollout_policy.0.weight"]));
  EXPECT_LT(cross_entropy(), ce_before);
}

// Backprop: the agent's loss reaches the rollout policy through the frozen model, whose
// weights neither get gradients nor change.
TEST(I2ATest, BackpropReachesTheRolloutPolicyThroughTheFrozenModel) {
  torch::manual_seed(0);
  auto model = sssm();
  I2ANet net(spec(), model, options(RolloutPolicyKind::kBackprop), 16);
  std::vector<at::Tensor> model_before;
  for (const auto& p : model->parameters()) model_before.push_back(p.clone());
  const auto out = net->forward(frames(2));
  EXPECT_FALSE(out.aux_loss.defined());
  (out.logits.pow(2).sum() + out.value.sum()).backward();
  double rollout_grad = 0;
  for (const auto& [name, p] : parameters_of(*net, "rollout_policy"))
    if (p.grad().defined()) rollout_grad += p.grad().abs().sum().item<double>();
  EXPECT_GT(rollout_grad, 0.0);
  for (const auto& p : model->parameters()) EXPECT_FALSE(p.grad().defined());

  A2CAgent agent(net.ptr(), A2COptions{});
  A2CRollout r;
  r.obs = frames(2).unsqueeze(0);
  r.action = torch::zeros({1, kBatch}, torch::kLong);
  r.reward = torch::ones({1, kBatch});
  r.terminated = torch::ones({1, kBatch}, torch::kBool);
  r.truncated = torch::zeros({1, kBatch}, torch::kBool);
  r.final_obs = r.obs;
  r.last_obs = frames(2);
  const auto before = parameters_of(*net, "rollout_policy")["rollout_policy.0.weight"].clone();
  agent.update(r);
  EXPECT_FALSE(torch::equal(before, parameters_of(*net, "rollout_policy")["rollout_policy.0.weight"]));
  const auto after = model->parameters();
  for (size_t i = 0; i < after.size(); ++i) EXPECT_TRUE(torch::equal(after[i], model_before[i]));
}


}  // namespace
}  // namespace imagine::agents
