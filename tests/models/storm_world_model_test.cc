#include "imagine/models/storm/storm_world_model.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <string_view>

#include "imagine/core/config.h"
#include "imagine/core/error.h"
#include "imagine/nn/categorical.h"

namespace imagine::models::storm {
namespace {

WorldModelOptions tiny_options() {
  WorldModelOptions o;
  o.obs_channels = 2;
  o.obs_size = 8;
  o.num_actions = 3;
  o.encoder_channels = {4, 8};
  o.encoder_downsample = 1;
  o.latent_variables = 4;
  o.latent_classes = 5;
  o.dim = 16;
  o.layers = 2;
  o.heads = 2;
  o.ffn_dim = 24;
  o.max_positions = 12;
  o.head_hidden = 12;
  o.reward_bins = 17;
  return o;
}

TEST(StormWorldModelTest, AtariParameterCountsMatchTheLayerList) {
  const int64_t a = 18;  // full Atari action set
  WorldModel model(atari_options(a));
  const ParameterCounts c = model->parameter_counts();
  // Encoder: four 4x4 convs without bias, BatchNorm (weight, bias) after each.
  const int64_t encoder = 3 * 32 * 16 + 32 * 64 * 16 + 64 * 128 * 16 + 128 * 256 * 16 + 2 * (32 + 64 + 128 + 256);
  const int64_t posterior = 4096 * 1024 + 1024;
  // Decoder: Linear 1024->4096 no bias, BatchNorm over the 256 channels of the 256x4x4 map,
  // three transposed convs with BatchNorm, the last one 32->3 with bias.
  const int64_t decoder = 1024 * 4096 + 2 * 256 + 256 * 128 * 16 + 2 * 128 + 128 * 64 * 16 + 2 * 64 +
                          64 * 32 * 16 + 2 * 32 + 32 * 3 * 16 + 3;
  const int64_t stem = (1024 + a) * 512 + 2 * 512 + 512 * 512 + 2 * 512;
  const int64_t positions = 64 * 512 + 2 * 512;
  const int64_t block = 4 * 512 * 512 + 2 * 512 + (512 * 1024 + 1024) + (1024 * 512 + 512) + 2 * 512;
  const int64_t transformer = stem + positions + 2 * block;
  const int64_t trunk = 2 * (512 * 512 + 2 * 512);
  const int64_t heads = (512 * 1024 + 1024) + (trunk + 512 * 255 + 255) + (trunk + 512 + 1);
  EXPECT_EQ(c.encoder, encoder);
  EXPECT_EQ(c.posterior, posterior);
  EXPECT_EQ(c.decoder, decoder);
  EXPECT_EQ(c.transformer, transformer);
  EXPECT_EQ(c.heads, heads);
  EXPECT_EQ(c.total, encoder + posterior + decoder + transformer + heads);
  // The reference's counts (specs/storm.md): 16,503,939 + 512 per action.
  EXPECT_EQ(encoder, 690624);
  EXPECT_EQ(posterior, 4195328);
  EXPECT_EQ(decoder, 4884931);
  EXPECT_EQ(transformer, 5023744 + 512 * a);
  EXPECT_EQ(heads, 525312 + 657151 + 526849);
  EXPECT_EQ(c.total, 16503939 + 512 * a);
  // The spec's rounded figures.
  EXPECT_NEAR(c.encoder / 1e6, 0.69, 0.01);
  EXPECT_NEAR(c.posterior / 1e6, 4.2, 0.05);
  EXPECT_NEAR(c.decoder / 1e6, 4.9, 0.05);
  EXPECT_NEAR(c.transformer / 1e6, 5.0, 0.1);
  EXPECT_NEAR(c.total / 1e6, 16.5, 0.2);
}

TEST(StormWorldModelTest, ShapesOfEncoderAndDecoderForBothPresets) {
  torch::NoGradGuard no_grad;
  {
    WorldModel model(WorldModelOptions{});  // MinAtar preset: 10x10
    model->eval();
    auto obs = torch::randint(0, 2, {2, 3, 4, 10, 10}, torch::kUInt8);
    auto enc = model->encode(obs, 1.0);
    EXPECT_EQ(enc.logits.sizes(), torch::IntArrayRef({2, 3, 16, 16}));
    EXPECT_EQ(enc.z.sizes(), torch::IntArrayRef({2, 3, 256}));
    EXPECT_EQ(model->decode(enc.z).sizes(), torch::IntArrayRef({2, 3, 4, 10, 10}));
    EXPECT_EQ(model->feature_dim(), 256 + 256);
  }
  {
    WorldModelOptions o = atari_options(4);
    o.dim = 32;  // keep the test light; the conv stack is the paper's
    o.heads = 4;
    o.ffn_dim = 32;
    o.head_hidden = 32;
    WorldModel model(o);
    model->eval();
    auto obs = torch::randint(0, 256, {1, 2, 3, 64, 64}, torch::kUInt8);
    auto enc = model->encode(obs, 1.0 / 255);
    EXPECT_EQ(enc.z.sizes(), torch::IntArrayRef({1, 2, 1024}));
    EXPECT_EQ(model->decode(enc.z).sizes(), torch::IntArrayRef({1, 2, 3, 64, 64}));
  }
  WorldModelOptions bad;
  bad.obs_size = 10;
  bad.encoder_downsample = 2;  // 10 -> 5 -> 2.5
  EXPECT_THROW(WorldModel{bad}, UserError);
}

// Collects what visit() declares (the TOML reader/writer are tested in core).
struct FieldCollector {
  std::set<std::string> keys;
  bool all_documented = true;
  template <class T>
  void field(std::string_view key, T&, const config::FieldInfo& info) {
    keys.insert(std::string(key));
    all_documented = all_documented && !info.doc.empty();
  }
};

TEST(StormWorldModelTest, OptionsVisitListsEveryFieldOnce) {
  WorldModelOptions o;
  FieldCollector c;
  o.visit(c);
  EXPECT_EQ(c.keys.size(), 27u);
  EXPECT_TRUE(c.all_documented);
  for (const char* key : {"encoder_channels", "encoder_downsample", "dim", "unimix", "free_bits", "grad_clip"}) {
    EXPECT_EQ(c.keys.count(key), 1u) << key;
  }
  const WorldModelOptions atari = atari_options(18);
  EXPECT_EQ(atari.latent_dim(), 1024);
  EXPECT_EQ(atari.reward_bins, 255);
  EXPECT_DOUBLE_EQ(atari.dynamics_weight, 0.5);
  EXPECT_DOUBLE_EQ(atari.representation_weight, 0.1);
  EXPECT_DOUBLE_EQ(atari.lr, 1e-4);
  EXPECT_DOUBLE_EQ(atari.adam_eps, 1e-8);
  EXPECT_DOUBLE_EQ(atari.grad_clip, 1000.0);
}

TEST(StormWorldModelTest, LossIsFiniteAndReachesEveryParameter) {
  torch::manual_seed(0);
  WorldModelOptions o = tiny_options();
  o.free_bits = 0.0;  // otherwise a clipped KL would (correctly) give the prior no gradient
  o.max_positions = 6;
  WorldModel model(o);
  const int64_t b = 3, t = 6;
  auto obs = torch::randint(0, 256, {b, t, 2, 8, 8}, torch::kUInt8);
  auto action = torch::randint(0, 3, {b, t}, torch::kLong);
  auto reward = torch::randn({b, t}) * 3;
  auto term = torch::rand({b, t}) < 0.2;
  auto first = torch::zeros({b, t}, torch::kBool);
  first[1][3] = true;
  Losses l = model->loss(obs, action, reward, term, first, 1.0 / 255);
  for (const auto& x : {l.total, l.reconstruction, l.reward, l.termination, l.dynamics, l.representation, l.kl}) {
    ASSERT_EQ(x.dim(), 0);
    EXPECT_TRUE(std::isfinite(x.item<double>()));
  }
  EXPECT_NEAR(l.total.item<double>(),
              (l.reconstruction + l.reward + l.termination + 0.5 * l.dynamics + 0.1 * l.representation).item<double>(),
              1e-4);
  EXPECT_NEAR(l.dynamics.item<double>(), l.representation.item<double>(), 1e-5);  // same value, different gradients
  l.total.backward();
  for (const auto& item : model->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_GT(item.value().grad().abs().sum().item<double>(), 0.0) << item.key();
  }
}

// Under bernoulli the decoder's outputs are per-cell logits: the loss is their cross-entropy
// with the binary frame, decode() gives the probabilities, and reconstruction_error is the
// squared error of those, as it is of the picture under squared_error.
TEST(StormWorldModelTest, BernoulliReconstructionIsTheCellsCrossEntropy) {
  const int64_t b = 2, t = 4;
  auto obs = (torch::rand({b, t, 2, 8, 8}) < 0.3).to(torch::kUInt8);  // binary planes, obs_scale 1
  auto action = torch::randint(0, 3, {b, t}, torch::kLong);
  auto reward = torch::zeros({b, t});
  auto term = torch::zeros({b, t}, torch::kBool);
  auto first = torch::zeros({b, t}, torch::kBool);
  for (Reconstruction kind : {Reconstruction::kSquaredError, Reconstruction::kBernoulli}) {
    SCOPED_TRACE(config::enum_name(kind));
    torch::manual_seed(0);
    WorldModelOptions o = tiny_options();
    o.reconstruction = kind;
    WorldModel model(o);
    model->eval();  // batch norm and dropout fixed, so that the two passes below agree
    torch::manual_seed(7);
    Losses l = model->loss(obs, action, reward, term, first, 1.0);
    torch::manual_seed(7);  // the same latent sample
    torch::NoGradGuard no_grad;
    const at::Tensor p = model->decode(model->encode(obs, 1.0).z);
    const at::Tensor target = obs.to(torch::kFloat);
    const double squared = (p - target).pow(2).sum({2, 3, 4}).mean().item<double>();
    EXPECT_NEAR(l.reconstruction_error.item<double>(), squared, 1e-4 * squared);
    if (o.reconstruction == Reconstruction::kBernoulli) {
      EXPECT_GE(p.min().item<double>(), 0.0);
      EXPECT_LE(p.max().item<double>(), 1.0);
      const at::Tensor q = p.clamp(1e-7, 1 - 1e-7);
      const double cross_entropy =
          -(target * q.log() + (1 - target) * (1 - q).log()).sum({2, 3, 4}).mean().item<double>();
      EXPECT_NEAR(l.reconstruction.item<double>(), cross_entropy, 1e-3 * cross_entropy);
      // Per channel: the mean probability of the lit cells.
      ASSERT_EQ(l.lit_cell_probability.sizes(), torch::IntArrayRef({2}));
      for (int64_t c = 0; c < 2; ++c) {
        const at::Tensor lit = target.select(2, c) > 0.5;
        EXPECT_NEAR(l.lit_cell_probability[c].item<double>(), p.select(2, c).masked_select(lit).mean().item<double>(),
                    1e-5);
      }
    } else {
      EXPECT_DOUBLE_EQ(l.reconstruction.item<double>(), squared);
      EXPECT_FALSE(l.lit_cell_probability.defined());
    }
  }
  EXPECT_THROW(config::read<WorldModelOptions>(config::Document::parse_string("reconstruction = \"poisson\"", "t")),
               UserError);
}

// event_weight trains the heads with rare events weighted; the heads' outputs are the same
// network's logits shifted back (by log w, on the termination and on the reward's event bins),
// and the logged head losses stay the unweighted cross-entropies.
TEST(StormWorldModelTest, EventWeightShiftsTheHeadsAndKeepsTheirLossesUnweighted) {
  const int64_t b = 2, t = 5;
  auto obs = (torch::rand({b, t, 2, 8, 8}) < 0.3).to(torch::kUInt8);
  auto action = torch::randint(0, 3, {b, t}, torch::kLong);
  auto reward = torch::tensor({{0.0, 1.0, 0.0, 0.0, 0.0}, {0.0, 0.0, 0.0, -2.0, 0.0}});
  auto term = torch::zeros({b, t}, torch::kBool);
  term[1][4] = true;
  auto first = torch::zeros({b, t}, torch::kBool);
  auto build = [](double weight) {
    torch::manual_seed(0);
    WorldModelOptions o = tiny_options();
    o.event_weight = weight;
    WorldModel model(o);
    model->eval();
    return model;
  };
  WorldModel plain = build(1.0), weighted = build(10.0);
  const at::Tensor h = torch::randn({3, 16});
  torch::NoGradGuard no_grad;
  const HeadOutputs p = plain->heads(h), w = weighted->heads(h);
  EXPECT_TRUE(torch::allclose(w.termination_logit, p.termination_logit - std::log(10.0), 1e-6, 1e-6));
  const at::Tensor shift = p.reward_logits - w.reward_logits;  // [3, 17]: log 10 off the zero bin
  EXPECT_NEAR(shift.select(1, 8).abs().max().item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(shift.narrow(1, 0, 8).sub(std::log(10.0)).abs().max().item<double>(), 0.0, 1e-5);
  torch::manual_seed(7);
  const Losses lp = plain->loss(obs, action, reward, term, first, 1.0);
  torch::manual_seed(7);
  const Losses lw = weighted->loss(obs, action, reward, term, first, 1.0);
  const double head_losses_plain = (lp.reward + lp.termination).item<double>();
  const double head_losses_weighted =
      (lw.total - lw.reconstruction - 0.5 * lw.dynamics - 0.1 * lw.representation).item<double>();
  EXPECT_GT(head_losses_weighted, head_losses_plain + 1e-3);  // events weigh more in what is trained
  // The logged losses are the unweighted cross-entropies of the shifted (calibrated) heads.
  torch::manual_seed(7);  // the latent sample the loss drew
  const HeadOutputs heads = weighted->heads(weighted->sequence(weighted->encode(obs, 1.0).z, action, first));
  EXPECT_NEAR(lw.termination.item<double>(),
              torch::binary_cross_entropy_with_logits(heads.termination_logit, term.to(torch::kFloat)).item<double>(),
              1e-5);
  EXPECT_NEAR(lw.reward.item<double>(),
              weighted->reward_two_hot().loss(heads.reward_logits, reward).mean().item<double>(), 1e-5);
}

// Without autograd, the encoder runs over many frames in chunks (to keep each activation small);
// the posterior it gives equals that of one pass over all frames.
TEST(StormWorldModelTest, ChunkedEncodingWithoutGradientsEqualsOnePass) {
  torch::manual_seed(0);
  WorldModelOptions o = atari_options(6);  // 64x64 RGB: chunks of 128 frames
  o.latent_variables = 8;
  o.latent_classes = 8;
  o.dim = 32;
  o.heads = 2;
  o.ffn_dim = 32;
  o.head_hidden = 16;
  WorldModel model(o);
  model->eval();
  ASSERT_EQ(model->encode_chunk(), 128);  // 16 MB / (32 x 32 x 32 floats of the first stage)
  const auto obs = torch::randint(0, 256, {3, 100, 3, 64, 64}, torch::kUInt8);  // 300 frames: 3 chunks
  const at::Tensor one_pass = model->encode(obs, 1.0 / 255).logits.detach();  // autograd on: one pass
  torch::NoGradGuard no_grad;
  const at::Tensor chunked = model->encode(obs, 1.0 / 255).logits;
  EXPECT_EQ(chunked.sizes(), one_pass.sizes());
  EXPECT_TRUE(torch::allclose(chunked, one_pass, 1e-4, 1e-5)) << (chunked - one_pass).abs().max();
}

TEST(StormWorldModelTest, KlPairsAcrossAnEpisodeStartAreMaskedOut) {
  torch::manual_seed(4);
  WorldModelOptions o = tiny_options();
  o.free_bits = 0.0;
  WorldModel model(o);
  model->eval();
  const int64_t t = 5;
  auto obs = torch::randint(0, 256, {1, t, 2, 8, 8}, torch::kUInt8);
  auto action = torch::randint(0, 3, {1, t}, torch::kLong);
  auto zeros = torch::zeros({1, t});
  auto first = torch::zeros({1, t}, torch::kBool);
  first[0][2] = true;
  // Recompute the KL the loss should use from the same encoder samples.
  torch::manual_seed(9);
  Losses l = model->loss(obs, action, zeros, zeros.to(torch::kBool), first, 1.0 / 255);
  torch::manual_seed(9);
  Encoded enc = model->encode(obs, 1.0 / 255);
  auto prior = model->heads(model->sequence(enc.z, action, first)).prior_logits;
  auto kl = nn::categorical_kl(enc.logits.narrow(1, 1, t - 1), prior.narrow(1, 0, t - 1))[0];
  const double expected = (kl[0] + kl[2] + kl[3]).item<double>() / 3.0;  // pair (1, 2) is dropped
  EXPECT_NEAR(l.kl.item<double>(), expected, 1e-5);
  EXPECT_GT(std::abs(kl.mean().item<double>() - expected), 1e-4);
}

// The contract's incremental path (observe, then step by step through the KV cache) gives the
// full causal forward pass over the same latents and actions.
TEST(StormWorldModelTest, ImaginationWithCacheEqualsFullCausalForward) {
  torch::manual_seed(1);
  WorldModel model(tiny_options());
  model->eval();
  StormWorldModel contract(model, 1.0 / 255);
  torch::NoGradGuard no_grad;
  const int64_t b = 3, l = 4, k = 6;
  auto obs = torch::randint(0, 256, {b, l, 2, 8, 8}, torch::kUInt8);
  auto context_action = torch::randint(0, 3, {b, l}, torch::kLong);
  auto first = torch::zeros({b, l}, torch::kBool);
  first[0][0] = true;
  first[2][2] = true;  // an episode starts inside the context of row 2
  torch::manual_seed(5);
  Encoded enc = model->encode(obs, 1.0 / 255);
  torch::manual_seed(5);  // observe() draws the same posterior samples
  models::WorldStatePtr state = contract.observe(obs, context_action, first);
  EXPECT_TRUE(torch::equal(StormWorldModel::state_of(state).z, enc.z.select(1, l - 1)));
  std::vector<at::Tensor> zs = {enc.z}, actions = {context_action}, hs, rewards;
  for (int64_t i = 0; i < k; ++i) {
    auto a = i == 0 ? context_action.select(1, l - 1) : torch::randint(0, 3, {b}, torch::kLong);
    if (i > 0) {
      zs.push_back(StormWorldModel::state_of(state).z.unsqueeze(1));
      actions.push_back(a.unsqueeze(1));
    }
    models::WorldStep s = contract.step(state, a);
    const StormState& next = StormWorldModel::state_of(s.state);
    EXPECT_EQ(next.z.sizes(), torch::IntArrayRef({b, 20}));
    EXPECT_TRUE(torch::equal(next.z.sum(-1), torch::full({b}, 4.0)));  // one-hot per variable
    hs.push_back(next.h);
    rewards.push_back(s.reward);
    state = s.state;
  }
  EXPECT_EQ(StormWorldModel::state_of(state).length, l + k - 1);
  auto all_first = torch::cat({first, torch::zeros({b, k - 1}, torch::kBool)}, 1);
  auto h = model->sequence(torch::cat(zs, 1), torch::cat(actions, 1), all_first);  // [B, L + k - 1, D]
  auto full_reward = model->reward_two_hot().predict(model->heads(h).reward_logits);
  for (int64_t i = 0; i < k; ++i) {
    EXPECT_LT((h.select(1, l - 1 + i) - hs[i]).abs().max().item<float>(), 1e-5) << "step " << i;
    EXPECT_LT((full_reward.select(1, l - 1 + i) - rewards[i]).abs().max().item<float>(), 1e-4) << "step " << i;
  }
  EXPECT_EQ(contract.features(state).sizes(), torch::IntArrayRef({b, model->feature_dim()}));
  // Imagining past max_positions is an error, not a silent wrap.
  for (int64_t i = l + k - 1; i < 12; ++i) state = contract.step(state, torch::zeros({b}, torch::kLong)).state;
  EXPECT_THROW(contract.step(state, torch::zeros({b}, torch::kLong)), c10::Error);
}

// At an episode start the policy sees no history: h is zero where the last observed frame
// starts an episode, and stepping from there attends to that frame only.
TEST(StormWorldModelTest, ObserveAtAnEpisodeStartForgetsThePreviousEpisode) {
  torch::manual_seed(1);
  WorldModel model(tiny_options());
  model->eval();
  StormWorldModel contract(model, 1.0 / 255);
  torch::NoGradGuard no_grad;
  auto obs = torch::randint(0, 256, {1, 3, 2, 8, 8}, torch::kUInt8);
  auto action = torch::randint(0, 3, {1, 3}, torch::kLong);
  auto first = torch::zeros({1, 3}, torch::kBool);
  first[0][2] = true;
  torch::manual_seed(2);
  const auto long_state = contract.observe(obs, action, first);
  EXPECT_EQ(StormWorldModel::state_of(long_state).h.abs().sum().item<double>(), 0.0);
  // Another previous episode (frames 0 and 1 differ, frame 2 is the same) changes nothing.
  auto other = obs.clone();
  other.narrow(1, 0, 2).copy_(torch::randint(0, 256, {1, 2, 2, 8, 8}, torch::kUInt8));
  torch::manual_seed(2);
  const auto other_state = contract.observe(other, action, first);
  torch::manual_seed(3);
  const at::Tensor after_long = contract.features(contract.step(long_state, torch::tensor({1})).state);
  torch::manual_seed(3);
  const at::Tensor after_alone = contract.features(contract.step(other_state, torch::tensor({1})).state);
  // ... but without the episode mark the history is read.
  torch::manual_seed(2);
  const auto unmarked = contract.observe(other, action, torch::zeros({1, 3}, torch::kBool));
  torch::manual_seed(3);
  EXPECT_FALSE(torch::allclose(after_long, contract.features(contract.step(unmarked, torch::tensor({1})).state),
                               1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(after_long, after_alone, 1e-5, 1e-5));
}

// A 2x2 square on a 10x10 torus moved by 4 actions; reward = its new column / 3.
struct DotBatch {
  at::Tensor obs, action, reward, term, first;
};

DotBatch make_dot_batch(int64_t b, int64_t t, at::Generator& gen) {
  auto x = torch::randint(0, 10, {b}, gen, torch::kLong);
  auto y = torch::randint(0, 10, {b}, gen, torch::kLong);
  auto action = torch::randint(0, 4, {b, t}, gen, torch::kLong);
  auto obs = torch::zeros({b, t, 1, 10, 10}, torch::kUInt8);
  auto reward = torch::zeros({b, t});
  auto rows = torch::arange(b);
  auto on = torch::full({b}, 255, torch::kUInt8);
  for (int64_t i = 0; i < t; ++i) {
    auto frame = obs.select(1, i).select(1, 0);  // [B, 10, 10]
    for (int64_t dy : {0, 1}) {
      for (int64_t dx : {0, 1}) frame.index_put_({rows, (y + dy) % 10, (x + dx) % 10}, on);
    }
    auto a = action.select(1, i);
    x = (x + (a == 1).to(torch::kLong) - (a == 0).to(torch::kLong) + 10) % 10;
    y = (y + (a == 3).to(torch::kLong) - (a == 2).to(torch::kLong) + 10) % 10;
    reward.select(1, i).copy_(x.to(torch::kFloat) / 3.0);
  }
  auto first = torch::zeros({b, t}, torch::kBool);
  first.select(1, 0).fill_(true);
  return {obs, action, reward, torch::zeros({b, t}, torch::kBool), first};
}

// The moving square's frames are binary, so both likelihoods apply; each must learn the picture
// (judged by the squared error of what decode() draws) and the reward.
void learn_moving_square(Reconstruction reconstruction) {
  torch::manual_seed(0);
  auto gen = at::detail::createCPUGenerator(123);
  WorldModelOptions o;
  o.reconstruction = reconstruction;
  o.obs_channels = 1;
  o.obs_size = 10;
  o.num_actions = 4;
  o.encoder_channels = {8, 16};
  o.encoder_downsample = 1;
  o.latent_variables = 8;
  o.latent_classes = 8;
  o.dim = 32;
  o.layers = 1;
  o.heads = 2;
  o.ffn_dim = 64;
  o.dropout = 0.0;
  o.max_positions = 8;
  o.head_hidden = 32;
  o.head_layers = 1;
  WorldModel model(o);
  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(8e-3).eps(o.adam_eps));
  const int kSteps = 600;  // the reference's channel-wise batch norm in the decoder needs ~500 here
  double rec = 0, rew = 0, rew_err = 0;
  for (int step = 0; step < kSteps; ++step) {
    DotBatch batch = make_dot_batch(16, 8, gen);
    Losses l = model->loss(batch.obs, batch.action, batch.reward, batch.term, batch.first, 1.0 / 255);
    adam.zero_grad();
    l.total.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), o.grad_clip);
    adam.step();
    if (step >= kSteps - 20) {  // average the last 20 steps
      rec += l.reconstruction_error.item<double>() / 20;
      rew += l.reward.item<double>() / 20;
      rew_err += l.reward_abs_error.item<double>() / 20;
    }
  }
  // Reference points: predicting the mean image costs ~3.84 per frame (one that ignores the
  // latent can do no better); the reward cross-entropy starts at ~ln(255) = 5.5 and cannot
  // go below the entropy of the two-hot targets.
  DotBatch probe = make_dot_batch(256, 8, gen);
  auto frames = probe.obs.to(torch::kFloat).div(255).flatten(0, 1);
  const double mean_image = (frames - frames.mean(0)).pow(2).sum({1, 2, 3}).mean().item<double>();
  const auto& two_hot = model->reward_two_hot();
  auto w = two_hot.encode(nn::symlog(probe.reward));
  const double floor = -(w * torch::log(w.clamp_min(1e-12))).sum(-1).mean().item<double>();
  EXPECT_LT(rec, 0.4 * mean_image);
  EXPECT_LT(rew, floor + 0.5);
  EXPECT_LT(rew_err, 0.3);
  std::printf("moving square, %s, after %d steps: reconstruction error %.3f (mean image %.3f), reward CE %.3f "
              "(floor %.3f), |r err| %.3f\n",
              config::enum_name(reconstruction).c_str(), kSteps, rec, mean_image, rew, floor, rew_err);
}

TEST(StormWorldModelLearning, MovingSquareReconstructionAndReward) { learn_moving_square(Reconstruction::kSquaredError); }
TEST(StormWorldModelLearning, MovingSquareUnderABernoulliLikelihood) { learn_moving_square(Reconstruction::kBernoulli); }

}  // namespace
}  // namespace imagine::models::storm
