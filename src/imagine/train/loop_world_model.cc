#include "imagine/train/loop_world_model.h"

#include <torch/torch.h>

#include <fmt/format.h>

#include <optional>
#include <stdexcept>

#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/core/finite.h"
#include "imagine/envs/registry.h"
#include "imagine/models/ssm/ssm_world_model.h"
#include "imagine/models/storm/storm_world_model.h"
#include "imagine/nn/parameter_count.h"

namespace imagine::train {

namespace {

bool is_storm(const Config& config) { return config.storm.world_model_class == LoopModelClass::kStorm; }

models::ssm::ModelClass ssm_class(LoopModelClass c) {
  switch (c) {
    case LoopModelClass::kDssmDet: return models::ssm::ModelClass::kDssmDet;
    case LoopModelClass::kDssmVae: return models::ssm::ModelClass::kDssmVae;
    case LoopModelClass::kSssm: return models::ssm::ModelClass::kSssm;
    case LoopModelClass::kStorm: break;
  }
  throw std::logic_error("storm.world_model_class = \"storm\" is not a state-space model");
}

// STORM's world-model options with the sizes the environment decides.
models::storm::WorldModelOptions storm_options(const Config& config, const envs::EnvSpec& spec) {
  if (spec.height != spec.width)
    throw UserError(fmt::format("storm: observations must be square, '{}' gives {}x{}", spec.id, spec.height,
                                spec.width));
  models::storm::WorldModelOptions o = config.world_model;
  if (o.reconstruction == models::storm::Reconstruction::kBernoulli && spec.obs_scale < 0.5f)
    throw UserError(fmt::format("world_model.reconstruction = \"bernoulli\" needs binary observations (env.obs = "
                                "\"symbolic\"); '{}' gives RGB frames, which use \"squared_error\"",
                                spec.id));
  o.obs_channels = spec.channels;
  o.obs_size = spec.height;
  o.num_actions = spec.num_actions;
  return o;
}

// The state-space model's options in the loop: [env_model] with the loop's class, the
// environment's frames and a continue head, so imagined episodes can end.
models::ssm::EnvModelOptions ssm_options(const Config& config, const envs::EnvSpec& spec) {
  models::ssm::EnvModelOptions o = config.env_model;
  o.model_class = ssm_class(config.storm.world_model_class);
  o.continue_head = true;
  const std::string name = config::enum_name(config.storm.world_model_class);
  if (o.jump != 1)
    throw UserError("storm.world_model_class = \"" + name +
                    "\" needs env_model.jump = 1 (the loop imagines one environment step per action)");
  if (spec.height != spec.width || spec.obs_scale > 0.5f)  // RGB frames are scaled by 1/255
    throw UserError(fmt::format("storm.world_model_class = \"{}\" reads square RGB frames; {} gives {}x{} {}; set "
                                "env.obs = \"rgb\" and env.image_size to a multiple of 8",
                                name, spec.id, spec.height, spec.width,
                                spec.obs_scale > 0.5f ? "planes" : "frames"));
  o.image_channels = spec.channels;
  o.image_size = spec.height;
  o.num_actions = spec.num_actions;
  o.validate();
  return o;
}

// Gradient-norm clipping that keeps the norm a tensor (no host synchronisation).
at::Tensor clip_gradients(const std::vector<at::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> norms;
  std::vector<at::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) {
      grads.push_back(p.grad());
      norms.push_back(p.grad().norm());
    }
  if (norms.empty()) return torch::zeros({});
  const at::Tensor total = torch::stack(norms).norm();
  if (max_norm > 0) {
    const at::Tensor coef = torch::clamp_max(max_norm / (total + 1e-6), 1.0);
    for (auto& g : grads) g.mul_(coef);
  }
  return total;
}

void save_entries(OutputArchive& archive, torch::nn::Module& module, torch::optim::Adam& optimiser) {
  OutputArchive m, o;
  module.save(m);
  optimiser.save(o);
  archive.write("world_model", m);
  archive.write("world_model_optimiser", o);
}

void load_entries(InputArchive& archive, torch::nn::Module& module, torch::optim::Adam& optimiser,
                  c10::Device device) {
  InputArchive m, o;
  archive.read("world_model", m);
  module.load(m);
  module.to(device);
  archive.read("world_model_optimiser", o);
  optimiser.load(o);
  move_optimiser_state(optimiser, device);
}

class StormLoopModel : public LoopWorldModel {
 public:
  StormLoopModel(const Config& config, const envs::EnvSpec& spec, c10::Device device, bool bf16)
      : options_(config.storm),
        grad_clip_(config.world_model.grad_clip),
        obs_scale_(spec.obs_scale),
        device_(device),
        bf16_(bf16),
        module_(storm_options(config, spec)),
        contract_((module_->to(device), module_), spec.obs_scale),  // on the device before the optimiser sees it
        optimiser_(module_->parameters(),
                   torch::optim::AdamOptions(config.world_model.lr).eps(config.world_model.adam_eps)) {}

  models::WorldModel& model() override { return contract_; }

  std::map<std::string, at::Tensor> update(const data::ReplayBuffer& replay, Rng& rng, int64_t step) override {
    module_->train();
    const data::Batch b = replay
                              .sample_favouring_events(options_.batch_size, options_.batch_length, rng, /*within_episode=*/false,
                                                       options_.event_share, 0, options_.batch_length - 1)
                              .to(device_);
    const at::Tensor termination = torch::logical_or(b.terminated, b.life_lost);
    std::optional<Bf16Autocast> autocast(std::in_place, device_, bf16_);
    models::storm::Losses l = module_->loss(b.obs, b.action, b.reward, termination, b.first, obs_scale_);
    autocast.reset();  // backward runs in the dtypes the forward recorded
    optimiser_.zero_grad();
    l.total.backward();
    const at::Tensor grad_norm = clip_gradients(module_->parameters(), grad_clip_);
    optimiser_.step();
    check_finite("storm: the world-model update", step,
                 {{"world_model/loss", l.total},
                  {"world_model/reconstruction", l.reconstruction},
                  {"world_model/reward", l.reward},
                  {"world_model/termination", l.termination},
                  {"world_model/dynamics", l.dynamics},
                  {"world_model/representation", l.representation},
                  {"world_model/grad_norm", grad_norm},
                  {"world_model parameters", parameters_norm(module_->parameters())}});
    std::map<std::string, at::Tensor> metrics = {{"world_model/loss", l.total},
            {"world_model/reconstruction", l.reconstruction},
            {"world_model/reconstruction_error", l.reconstruction_error},
            {"world_model/reward", l.reward},
            {"world_model/termination", l.termination},
            {"world_model/dynamics", l.dynamics},
            {"world_model/representation", l.representation},
            {"world_model/kl", l.kl},
            {"world_model/posterior_entropy", l.posterior_entropy},
            {"world_model/prior_entropy", l.prior_entropy},
            {"world_model/reward_abs_error", l.reward_abs_error},
            {"world_model/termination_accuracy", l.termination_accuracy},
            {"world_model/grad_norm", grad_norm}};
    if (l.lit_cell_probability.defined())
      for (int64_t c = 0; c < l.lit_cell_probability.size(0); ++c)
        metrics.emplace(fmt::format("world_model/lit_cell_probability/channel_{}", c), l.lit_cell_probability[c]);
    return metrics;
  }

  int64_t imagination_context() const override { return options_.imagination_context; }
  bool windows_within_episode() const override { return false; }

  models::WorldStatePtr imagination_start(const data::Batch& context) override {
    // The reference's start: the context consumed with all its actions, the next latent a
    // prior sample.
    const int64_t l = context.obs.size(1);
    const models::WorldStatePtr observed = contract_.observe(context.obs, context.action, context.first);
    return contract_.step(observed, context.action.select(1, l - 1)).state;
  }

  models::WorldStatePtr acting_state(const std::vector<at::Tensor>& frames, const std::vector<int64_t>& actions,
                                     const at::Tensor& obs) override {
    const int64_t k = static_cast<int64_t>(frames.size());
    if (options_.acting != Acting::kPosterior && k == 0) return nullptr;
    std::vector<at::Tensor> f = frames;
    std::vector<int64_t> a = actions;
    if (options_.acting == Acting::kPosterior) {
      f.push_back(obs);
      a.push_back(0);  // not consumed: the current frame's action is what the policy chooses
    }
    const at::Tensor o = torch::stack(f).unsqueeze(0).to(device_);
    const at::Tensor act = torch::tensor(a, torch::kLong).unsqueeze(0).to(device_);
    models::WorldStatePtr state = contract_.observe(o, act, {});
    // storm: consume the last previous step and act on the prior's guess of the current latent.
    if (options_.acting != Acting::kPosterior) state = contract_.step(state, act.select(1, k - 1)).state;
    return state;
  }

  at::Tensor reconstruct(const at::Tensor& frames) override {
    return module_->decode(module_->encode(frames.unsqueeze(0).to(device_), obs_scale_).z)[0].clamp(0.0, 1.0);
  }

  void save(OutputArchive& archive) override { save_entries(archive, *module_, optimiser_); }
  void load(InputArchive& archive) override { load_entries(archive, *module_, optimiser_, device_); }

  std::vector<std::pair<std::string, int64_t>> parameter_counts() override {
    const auto c = module_->parameter_counts();
    return {{"world_model/encoder", c.encoder},         {"world_model/posterior", c.posterior},
            {"world_model/decoder", c.decoder},         {"world_model/transformer", c.transformer},
            {"world_model/heads", c.heads},             {"world_model", c.total}};
  }

 private:
  StormOptions options_;
  double grad_clip_;
  double obs_scale_;
  c10::Device device_;
  bool bf16_;
  models::storm::WorldModel module_;
  models::storm::StormWorldModel contract_;
  torch::optim::Adam optimiser_;
};

class SsmLoopModel : public LoopWorldModel {
 public:
  SsmLoopModel(const Config& config, const envs::EnvSpec& spec, c10::Device device)
      : options_(ssm_options(config, spec)),
        batch_size_(config.env_model.batch_size),
        event_share_(config.storm.event_share),
        device_(device),
        module_(options_),
        contract_((module_->to(device), module_)),  // on the device before the optimiser sees it
        optimiser_(module_->parameters(), torch::optim::AdamOptions(options_.lr)) {}

  models::WorldModel& model() override { return contract_; }

  std::map<std::string, at::Tensor> update(const data::ReplayBuffer& replay, Rng& rng, int64_t step) override {
    module_->train();
    // Windows may run past an episode's end (masked), so the transition that ends it, whose
    // reward and termination the agent needs, is learned too.
    // Events count where the loss learns them: the rewards and terminations of rows
    // context - 1 .. rows - 2 (make_sequence_batch).
    const int64_t rows = options_.context + options_.horizon;
    const data::Batch window = replay
                                   .sample_favouring_events(batch_size_, rows, rng, /*within_episode=*/false,
                                                            event_share_, options_.context - 1, rows - 2)
                                   .to(device_);
    const models::ssm::SequenceBatch batch =
        models::ssm::make_sequence_batch(window, options_.context, options_.horizon, 1, /*past_episode_end=*/true);
    const models::ssm::Losses l = module_->loss(batch);
    optimiser_.zero_grad();
    l.total.backward();
    optimiser_.step();
    check_finite("storm: the world-model update", step,
                 {{"world_model/loss", l.total},
                  {"world_model/reconstruction", l.reconstruction},
                  {"world_model/reward", l.reward},
                  {"world_model/kl", l.kl},
                  {"world_model/termination", l.termination},
                  {"world_model parameters", parameters_norm(module_->parameters())}});
    return {{"world_model/loss", l.total.detach()},
            {"world_model/reconstruction", l.reconstruction.detach()},
            {"world_model/reward", l.reward.detach()},
            {"world_model/kl", l.kl.detach()},
            {"world_model/termination", l.termination.detach()},
            {"world_model/reward_accuracy", l.reward_accuracy}};
  }

  int64_t imagination_context() const override { return options_.context; }
  bool windows_within_episode() const override { return true; }

  // The state at the context's last frame, made as acting makes it (the initial-state
  // network, not a transition): the actor-critic learns on the states it will act on, and on
  // the transitions' states after them.
  models::WorldStatePtr imagination_start(const data::Batch& context) override {
    return contract_.observe(context.obs, context.action, {});
  }
  bool starts_after_context() const override { return false; }

  models::WorldStatePtr acting_state(const std::vector<at::Tensor>& frames, const std::vector<int64_t>&,
                                     const at::Tensor& obs) override {
    // The last `context` frames of the episode; at its start the first frame stands in for the
    // ones before it.
    std::vector<at::Tensor> f(frames.begin(), frames.end());
    f.push_back(obs);
    while (static_cast<int64_t>(f.size()) < options_.context) f.insert(f.begin(), f.front());
    const std::vector<at::Tensor> last(f.end() - options_.context, f.end());
    return contract_.observe(torch::stack(last).unsqueeze(0).to(device_), {}, {});
  }

  void save(OutputArchive& archive) override { save_entries(archive, *module_, optimiser_); }
  void load(InputArchive& archive) override { load_entries(archive, *module_, optimiser_, device_); }

  std::vector<std::pair<std::string, int64_t>> parameter_counts() override {
    return {{"world_model", nn::parameter_count(*module_)}};
  }

 private:
  models::ssm::EnvModelOptions options_;
  int64_t batch_size_;
  double event_share_;  // storm.event_share
  c10::Device device_;
  models::ssm::EnvModel module_;
  models::ssm::SsmWorldModel contract_;
  torch::optim::Adam optimiser_;
};

}  // namespace

std::unique_ptr<LoopWorldModel> make_loop_world_model(const Config& config, const envs::EnvSpec& spec,
                                                      c10::Device device, bool bf16) {
  if (is_storm(config)) return std::make_unique<StormLoopModel>(config, spec, device, bf16);
  return std::make_unique<SsmLoopModel>(config, spec, device);
}

void validate_loop_world_model(const Config& config, const envs::EnvSpec& spec) {
  const StormOptions& s = config.storm;
  auto fail = [](const std::string& message) { throw UserError("storm: " + message); };
  if (!is_storm(config)) {
    if (config.precision == Precision::kBf16) fail("precision = \"bf16\" is for storm.world_model_class = \"storm\" only");
    const auto o = ssm_options(config, spec);
    if (s.warmup_steps < o.context + o.horizon)
      fail(fmt::format("storm.warmup_steps {} must cover one training window (env_model.context {} + horizon {})",
                       s.warmup_steps, o.context, o.horizon));
    return;
  }
  const int64_t positions = config.world_model.max_positions;
  if (s.batch_length > positions)
    fail(fmt::format("storm.batch_length {} exceeds world_model.max_positions {}", s.batch_length, positions));
  if (s.imagination_context + s.imagination_horizon > positions)
    fail(fmt::format("storm.imagination_context + imagination_horizon = {} exceeds world_model.max_positions {}",
                     s.imagination_context + s.imagination_horizon, positions));
  if (s.acting_context > positions)
    fail(fmt::format("storm.acting_context {} exceeds world_model.max_positions {}", s.acting_context, positions));
  if (s.warmup_steps < std::max(s.batch_length, s.imagination_context))
    fail(fmt::format("storm.warmup_steps {} must cover one world-model sequence (batch_length {}) and one "
                     "imagination context ({})",
                     s.warmup_steps, s.batch_length, s.imagination_context));
  if (config.replay.capacity < s.batch_length) fail("replay.capacity must hold at least one batch_length window");
  storm_options(config, spec).validate();
  // The world model's largest matrices (the transformer's, the posterior's and the decoder's
  // first Linear), each held four times by training: weights, gradients, Adam's two moments.
  const auto& wm = config.world_model;
  const double dim = static_cast<double>(wm.dim), latent = static_cast<double>(wm.latent_variables * wm.latent_classes);
  double side = static_cast<double>(spec.height);
  for (int64_t i = 0; i < wm.encoder_downsample; ++i) side /= 2;
  const double feature_size = static_cast<double>(wm.encoder_channels.back()) * side * side;
  const double parameters = static_cast<double>(wm.layers) * (4 * dim * dim + 2 * dim * static_cast<double>(wm.ffn_dim)) +
                            (latent + static_cast<double>(spec.num_actions) + dim) * dim +
                            static_cast<double>(wm.max_positions) * dim + 2 * latent * feature_size + dim * latent;
  check_fits_in_memory(16 * parameters, fmt::format("a world model of about {:.3g} parameters", parameters),
                       "lower world_model.dim, ffn_dim, layers or the latent sizes");
}

std::shared_ptr<models::WorldModel> load_loop_world_model(const Config& config, const envs::EnvSpec& spec,
                                                          InputArchive& archive) {
  InputArchive m;
  archive.read("world_model", m);
  if (is_storm(config)) {
    models::storm::WorldModel module(storm_options(config, spec));
    module->load(m);
    return std::make_shared<models::storm::StormWorldModel>(module, spec.obs_scale);
  }
  models::ssm::EnvModel module(ssm_options(config, spec));
  module->load(m);
  return std::make_shared<models::ssm::SsmWorldModel>(module);
}

}  // namespace imagine::train
