// WorldModelConformance: every implementation of the world-model contract (models/world_model.h)
// honours it the same way: shapes and dtypes at the boundary, determinism under a seed, step()
// leaves its input unchanged, branch(k) equals k separate copies, gradients reach a
// relaxed action, save/load reproduces the outputs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <sstream>
#include <string>

#include "imagine/models/copy_model.h"
#include "imagine/models/ssm/ssm_world_model.h"
#include "imagine/models/storm/storm_world_model.h"

namespace imagine::models {
namespace {

constexpr int64_t kSide = 16, kChannels = 3, kActions = 3, kBatch = 2;

struct Case {
  std::string name;
  std::function<std::unique_ptr<WorldModel>()> make;
  bool learns;  // has parameters that depend on the seed and on what it saw
  bool has_feature_map = true;
  // Leading feature columns that observe() and step() sample per row (STORM's latent z). Such
  // a model's copies observed separately differ by their samples, so branch(k) is compared
  // with k separate steps of one state on the other columns, the reward and the continue.
  int64_t sampled_features = 0;
};

std::unique_ptr<WorldModel> ssm_model(ssm::ModelClass model_class, int64_t jump, bool continue_head = false) {
  ssm::EnvModelOptions o;
  o.model_class = model_class;
  o.jump = jump;
  o.context = 2;
  o.horizon = 2;
  o.image_channels = kChannels;
  o.image_size = kSide;
  o.num_actions = kActions;
  o.latent_channels = 4;
  o.width_scale = 0.125;
  o.continue_head = continue_head;
  return std::make_unique<ssm::SsmWorldModel>(ssm::EnvModel(o));
}

std::vector<Case> cases() {
  std::vector<Case> out;
  using ssm::ModelClass;
  for (ModelClass c : {ModelClass::kAr, ModelClass::kRar, ModelClass::kDssmDet, ModelClass::kDssmVae, ModelClass::kSssm})
    out.push_back({config::enum_name(c), [c] { return ssm_model(c, 1); }, true});
  out.push_back({"sssm_jump2", [] { return ssm_model(ModelClass::kSssm, 2); }, true});
  out.push_back({"dssm_det_continue_head", [] { return ssm_model(ModelClass::kDssmDet, 1, true); }, true});
  {
    storm::WorldModelOptions o;
    o.obs_channels = kChannels;
    o.obs_size = kSide;
    o.num_actions = kActions;
    o.encoder_channels = {4, 8};
    o.encoder_downsample = 2;
    o.latent_variables = 4;
    o.latent_classes = 4;
    o.dim = 16;
    o.layers = 2;
    o.heads = 2;
    o.ffn_dim = 24;
    o.max_positions = 16;
    o.head_hidden = 12;
    o.reward_bins = 17;
    auto make = [o] {
      storm::WorldModel module(o);
      module->eval();
      return std::make_unique<storm::StormWorldModel>(module, 1.0 / 255);
    };
    out.push_back({"storm", make, true, false, o.latent_dim()});
  }
  out.push_back({"copy", [] { return std::make_unique<CopyModel>(std::vector<int64_t>{kChannels, kSide, kSide}, kActions, 1.0 / 255); },
                 false});
  return out;
}

class WorldModelConformance : public ::testing::TestWithParam<Case> {
 protected:
  std::unique_ptr<WorldModel> make(uint64_t seed = 0) const {
    torch::manual_seed(seed);
    return GetParam().make();
  }
  static at::Tensor frames(int64_t b, int64_t length, uint64_t seed = 5) {
    auto gen = at::detail::createCPUGenerator(seed);
    return torch::randint(0, 256, {b, length, kChannels, kSide, kSide}, gen, torch::kUInt8);
  }
  static at::Tensor no_actions(int64_t b, int64_t length) { return torch::zeros({b, length}, torch::kLong); }
};

TEST_P(WorldModelConformance, ShapesAndDtypesAtTheBoundary) {
  auto model = make();
  torch::NoGradGuard no_grad;
  const int64_t l = model->context();
  const WorldStatePtr s = model->observe(frames(kBatch, l + 1), no_actions(kBatch, l + 1), {});
  EXPECT_EQ(s->batch(), kBatch);
  const at::Tensor f = model->features(s);
  EXPECT_EQ(f.sizes(), torch::IntArrayRef({kBatch, model->feature_dim()}));
  EXPECT_EQ(f.scalar_type(), torch::kFloat);
  const at::Tensor map = model->feature_map(s);
  ASSERT_EQ(map.defined(), GetParam().has_feature_map);
  if (map.defined()) {
    EXPECT_EQ(map.dim(), 4);
    EXPECT_EQ(map.numel(), f.numel());
  }
  const at::Tensor frame = model->decode(s);
  EXPECT_EQ(frame.sizes(), torch::IntArrayRef({kBatch, kChannels, kSide, kSide}));
  EXPECT_GE(frame.min().item<double>(), 0.0);
  EXPECT_LE(frame.max().item<double>(), 1.0);
  for (const at::Tensor& action :
       {torch::tensor({0, 2}, torch::kLong), torch::one_hot(torch::tensor({1, 0}), kActions).to(torch::kFloat).repeat({1, model->jump()})}) {
    const WorldStep step = model->step(s, action);
    EXPECT_EQ(step.state->batch(), kBatch);
    EXPECT_EQ(step.reward.sizes(), torch::IntArrayRef({kBatch}));
    EXPECT_EQ(step.continues.sizes(), torch::IntArrayRef({kBatch}));
    EXPECT_TRUE(step.reward.is_floating_point());
    EXPECT_GE(step.continues.min().item<double>(), 0.0);
    EXPECT_LE(step.continues.max().item<double>(), 1.0);
  }
  EXPECT_GE(model->jump(), 1);
}

// Three steps under the same seed give the same features; another model seed others.
TEST_P(WorldModelConformance, DeterministicUnderASeed) {
  auto rollout = [&](uint64_t seed) {
    auto model = make(seed);
    torch::NoGradGuard no_grad;
    torch::manual_seed(17);
    WorldStatePtr s = model->observe(frames(kBatch, model->context()), no_actions(kBatch, model->context()), {});
    for (int i = 0; i < 3; ++i) s = model->step(s, torch::tensor({i % kActions, (i + 1) % kActions})).state;
    return model->features(s);
  };
  EXPECT_TRUE(torch::equal(rollout(1), rollout(1)));
  if (GetParam().learns) {
    EXPECT_FALSE(torch::equal(rollout(1), rollout(2)));
  }
}

// One state stepped into several futures: stepping never changes what the state reads as.
TEST_P(WorldModelConformance, StepLeavesItsInputUnchanged) {
  auto model = make();
  torch::NoGradGuard no_grad;
  const WorldStatePtr s = model->observe(frames(kBatch, model->context()), no_actions(kBatch, model->context()), {});
  const at::Tensor features = model->features(s).clone(), frame = model->decode(s).clone();
  torch::manual_seed(3);
  const WorldStatePtr a = model->step(s, torch::tensor({0, 0})).state;  // STORM: written in place
  const WorldStatePtr b = model->step(s, torch::tensor({2, 1})).state;
  model->step(a, torch::tensor({1, 1}));
  EXPECT_TRUE(torch::equal(model->features(s), features));
  EXPECT_TRUE(torch::equal(model->decode(s), frame));
  // Both futures start from the same state: stepping the first again gives it again.
  torch::manual_seed(3);
  const at::Tensor again = model->features(model->step(s, torch::tensor({0, 0})).state);
  torch::manual_seed(3);
  EXPECT_TRUE(torch::equal(again, model->features(model->step(s, torch::tensor({0, 0})).state)));
  EXPECT_TRUE(torch::allclose(again, model->features(a), 1e-6, 1e-6));
  (void)b;
}

// branch(k) equals observing each element k times, before and after a step under one seed,
// and rows of different actions stay apart.
TEST_P(WorldModelConformance, BranchEqualsSeparateCopies) {
  auto model = make();
  torch::NoGradGuard no_grad;
  const int64_t k = kActions, l = model->context();
  const at::Tensor obs = frames(kBatch, l);
  const WorldStatePtr observed = model->observe(obs, no_actions(kBatch, l), {});
  const WorldStatePtr branched = model->branch(observed, k);
  ASSERT_EQ(branched->batch(), kBatch * k);
  const at::Tensor actions = torch::arange(k).repeat({kBatch});  // one future per action
  const int64_t sampled = GetParam().sampled_features;
  torch::manual_seed(9);
  const WorldStep a = model->step(branched, actions);
  if (sampled == 0) {
    const WorldStatePtr copies = model->observe(obs.repeat_interleave(k, 0), no_actions(kBatch * k, l), {});
    EXPECT_TRUE(torch::allclose(model->features(branched), model->features(copies), 1e-5, 1e-6));
    torch::manual_seed(9);
    const WorldStep b = model->step(copies, actions);
    EXPECT_TRUE(torch::allclose(model->features(a.state), model->features(b.state), 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(a.reward, b.reward, 1e-5, 1e-6));
  } else {
    EXPECT_TRUE(torch::equal(model->features(branched), model->features(observed).repeat_interleave(k, 0)));
    const int64_t kept = model->feature_dim() - sampled;
    const at::Tensor branched_features = model->features(a.state).narrow(1, sampled, kept);
    for (int64_t j = 0; j < k; ++j) {
      const WorldStep b = model->step(observed, torch::full({kBatch}, j, torch::kLong));
      const at::Tensor rows = torch::arange(kBatch) * k + j;
      EXPECT_TRUE(torch::allclose(branched_features.index_select(0, rows),
                                  model->features(b.state).narrow(1, sampled, kept), 1e-5, 1e-6));
      EXPECT_TRUE(torch::allclose(a.reward.index_select(0, rows), b.reward, 1e-5, 1e-6));
      EXPECT_TRUE(torch::allclose(a.continues.index_select(0, rows), b.continues, 1e-5, 1e-6));
    }
  }
  if (GetParam().learns) {
    // Element 0's futures differ by their action.
    const at::Tensor f = model->features(a.state);
    EXPECT_FALSE(torch::allclose(f[0], f[1]));
  }
}

// Learning to query by backpropagation: a relaxed action's gradient passes through the model.
TEST_P(WorldModelConformance, GradientsReachARelaxedAction) {
  auto model = make();
  const int64_t l = model->context();
  const WorldStatePtr s = model->observe(frames(kBatch, l), no_actions(kBatch, l), {});
  const at::Tensor logits = torch::randn({kBatch, model->jump() * kActions}, torch::requires_grad());
  const at::Tensor relaxed = torch::softmax(logits, -1);
  const WorldStep step = model->step(s, relaxed);
  (step.reward.sum() + model->features(step.state).sum()).backward();
  ASSERT_TRUE(logits.grad().defined());
  if (GetParam().learns) {
    EXPECT_GT(logits.grad().abs().sum().item<double>(), 0.0);
  }
}

TEST_P(WorldModelConformance, SaveAndLoadReproduceTheOutputs) {
  auto trained = make(1), fresh = make(2);
  std::stringstream bytes;
  {
    torch::serialize::OutputArchive archive;
    trained->save(archive);
    archive.save_to(bytes);
  }
  torch::serialize::InputArchive archive;
  archive.load_from(bytes);
  fresh->load(archive);
  torch::NoGradGuard no_grad;
  auto outputs = [&](WorldModel& m) {
    torch::manual_seed(4);
    const WorldStatePtr s = m.observe(frames(kBatch, m.context()), no_actions(kBatch, m.context()), {});
    const WorldStep step = m.step(s, torch::tensor({1, 2}));
    return torch::cat({m.features(step.state).flatten(), step.reward, m.decode(step.state).flatten()});
  };
  EXPECT_TRUE(torch::equal(outputs(*trained), outputs(*fresh)));
}

INSTANTIATE_TEST_SUITE_P(AllWorldModels, WorldModelConformance, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(CopyModelTest, ReturnsItsInputAndZeroReward) {
  CopyModel model({kChannels, kSide, kSide}, kActions, 1.0 / 255);
  const at::Tensor obs = torch::randint(0, 256, {2, 3, kChannels, kSide, kSide}, torch::kUInt8);
  const WorldStatePtr s = model.observe(obs, {}, {});
  const WorldStep step = model.step(s, torch::tensor({0, 2}));
  EXPECT_TRUE(torch::allclose(model.decode(step.state), obs.select(1, 2).to(torch::kFloat) / 255));
  EXPECT_EQ(step.reward.abs().sum().item<double>(), 0.0);
  EXPECT_EQ(step.continues.min().item<double>(), 1.0);
}

}  // namespace
}  // namespace imagine::models
