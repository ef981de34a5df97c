#include "imagine/train/storm_job.h"

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <limits>
#include <optional>

#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/core/finite.h"
#include "imagine/core/log.h"
#include "imagine/core/media.h"
#include "imagine/core/stopwatch.h"
#include "imagine/envs/registry.h"
#include "imagine/agents/actor_critic/imagination.h"
#include "imagine/nn/parameter_count.h"
#include "imagine/train/evaluator.h"

namespace imagine::train {

namespace {

// Frames for media: x [N, C, H, W] in [0, 1] (float). RGB and grey pictures are shown as
// they are; symbolic planes get one colour per channel, summed and clipped.
std::vector<Frame> to_frames(const at::Tensor& x) {
  static const uint8_t kPalette[][3] = {{255, 255, 255}, {230, 60, 60},  {60, 200, 60},  {70, 110, 255},
                                        {240, 200, 40},  {200, 70, 220}, {40, 210, 210}, {250, 140, 30},
                                        {150, 150, 150}, {120, 60, 20}};
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  at::Tensor rgb;
  if (c == 3 || c == 1) {
    rgb = x.expand({n, 3, h, w});
  } else {
    std::vector<float> colours;
    for (int64_t i = 0; i < c; ++i)
      for (int k = 0; k < 3; ++k) colours.push_back(kPalette[i % 10][k] / 255.0f);
    const at::Tensor palette = torch::tensor(colours).view({c, 3});
    rgb = torch::einsum("nchw,ck->nkhw", {x.clamp(0, 1), palette});
  }
  const at::Tensor bytes = (rgb.clamp(0, 1) * 255).round().to(torch::kUInt8).contiguous();
  std::vector<Frame> frames;
  for (int64_t i = 0; i < n; ++i) {
    Frame f;
    f.channels = 3;
    f.height = h;
    f.width = w;
    const uint8_t* p = bytes[i].data_ptr<uint8_t>();
    f.data.assign(p, p + 3 * h * w);
    frames.push_back(std::move(f));
  }
  return frames;
}

}  // namespace

void validate_storm(const Config& config, const envs::EnvSpec& spec) {
  const StormOptions& s = config.storm;
  validate_loop_world_model(config, spec);
  data::ReplayBuffer::check_memory(config.replay.capacity, spec.obs_shape(), 1);
  const auto& ac = config.actor_critic;
  if (!(ac.return_percentile_low < ac.return_percentile_high))
    throw UserError(fmt::format("actor_critic.return_percentile_low ({}) must be below return_percentile_high ({})",
                                ac.return_percentile_low, ac.return_percentile_high));
  // The imagination batch's rollout: features, logits and returns for every step, a few
  // floats each per world-model and actor-critic width: a rough estimate of its memory.
  const auto& wm = config.world_model;
  const double per_row = 4.0 * static_cast<double>(s.imagination_context + s.imagination_horizon + 1) *
                         static_cast<double>(wm.dim * 8 + wm.latent_variables * wm.latent_classes * 4 + ac.hidden * 4);
  check_fits_in_memory(per_row * static_cast<double>(s.imagination_batch),
                       fmt::format("imagining a batch of {}", s.imagination_batch), "lower storm.imagination_batch");
}


StormJob::StormJob(const Config& config)
    : config_(config),
      options_(config.storm),
      env_(config.env, 1, 1),
      obs_scale_(env_.spec().obs_scale),
      device_(parse_device(config.device)),
      replay_(config.replay, env_.spec().obs_shape(), 1),
      media_positions_(config.storm.world_model_class == LoopModelClass::kStorm ? config.world_model.max_positions
                                                                  : std::numeric_limits<int64_t>::max()),
      rng_(static_cast<uint64_t>(config.seed) ^ 0x5707e0b5ULL) {
  validate_storm(config, env_.spec());
  torch::manual_seed(static_cast<uint64_t>(config.seed));
  agent_ = std::make_unique<StormAgent>(config, env_.spec(), device_, config.precision == Precision::kBf16);
  if (options_.exploration == Exploration::kEzGreedy)
    explorer_.emplace(options_.exploration_exponent, options_.exploration_max_repeat);
  obs_ = env_.reset(static_cast<uint64_t>(config.seed)).obs[0].clone();
}

StormJob::~StormJob() = default;

void StormJob::store(const at::Tensor& obs, int64_t action, const envs::StepResult& r, bool first) {
  replay_.add(obs.unsqueeze(0), torch::tensor({action}, torch::kLong), r.reward, r.terminated, r.truncated,
              r.life_lost, torch::tensor({first}, torch::kBool));
}

void StormJob::advance() {
  auto start = Clock::now();
  const bool warm = step_ < options_.warmup_steps;
  const int64_t num_actions = env_.spec().num_actions;
  std::optional<int64_t> explored;
  if (explorer_) {
    explored = explorer_->explore(warm ? 1.0 : options_.exploration_epsilon, num_actions, rng_);
    if (!warm) add("explore/fraction", explored ? 1.0 : 0.0);
  }
  const int64_t action = explored ? *explored
                         : warm   ? rng_.uniform_int(0, num_actions - 1)
                                  : agent_->act(acting_, obs_, rng_);
  const envs::StepResult& result = env_.step(torch::tensor({action}, torch::kLong));
  store(obs_, action, result, first_);
  const bool done = result.terminated[0].item<bool>() || result.truncated[0].item<bool>();
  acting_.push(obs_, action, options_.acting_context - 1);
  if (done) {
    acting_.clear();
    if (explorer_) explorer_->end_run();
    const double ret = result.episode_return[0].item<double>();
    episode_returns_.push_back(ret);
    episode_lengths_.push_back(static_cast<double>(result.episode_length[0].item<int64_t>()));
    recent_return_ = have_return_ ? 0.95 * recent_return_ + 0.05 * ret : ret;
    have_return_ = true;
  }
  first_ = done;
  obs_ = result.obs[0].clone();
  ++step_;
  add("time/act_and_env_s", seconds_since(start));
  if (step_ > options_.warmup_steps && step_ % options_.train_every == 0) train_round();
  if (options_.media_every > 0 && step_ % options_.media_every == 0 && step_ >= options_.warmup_steps &&
      !media_dir_.empty() && !media_failed_)
    write_media();
}

void StormJob::train_round() {
  for (int64_t i = 0; i < options_.world_model_updates; ++i) {
    const auto start = Clock::now();
    for (const auto& [key, value] : agent_->update_world_model(replay_, rng_, step_)) add(key, value);
    ++world_model_updates_;
    add("time/world_model_update_s", seconds_since(start));
  }
  for (int64_t i = 0; i < options_.actor_critic_updates; ++i) {
    const ActorCriticStep u = agent_->update_actor_critic(replay_, rng_, step_);
    ++actor_critic_updates_;
    const agents::ActorCriticLosses& l = u.losses;
    add("time/imagination_s", u.imagination_s);
    add("actor_critic/loss", l.total);
    add("actor_critic/policy", l.policy);
    add("actor_critic/value", l.value);
    add("actor_critic/slow_value", l.slow_value);
    add("actor_critic/entropy", l.entropy);
    add("actor_critic/return_scale", l.return_scale);
    add("actor_critic/mean_return", l.mean_return);
    add("actor_critic/mean_value", l.mean_value);
    add("actor_critic/grad_norm", l.grad_norm);
    add("imagination/reward", u.rollout.rewards.mean());
    add("imagination/continue", u.rollout.continues.mean());
    add("time/actor_critic_update_s", u.update_s);
  }
}

void StormJob::write_media() {
  const int64_t rows = replay_.num_rows(0);
  LoopWorldModel& world_model = agent_->world_model();
  const int64_t context = world_model.imagination_context();
  const int64_t length = std::min({options_.media_length, rows, media_positions_});
  if (length <= context) return;
  torch::NoGradGuard no_grad;
  models::WorldModel& model = world_model.model();
  model.eval();
  const int64_t scale = std::max<int64_t>(1, 128 / env_.spec().height);
  try {
    std::filesystem::create_directories(media_dir_);
    // The latest rows of the first stream; the state-space models need them inside one episode.
    int64_t begin = rows - length;
    if (world_model.windows_within_episode()) {
      const auto first = replay_.window(0, begin, length).first[0];
      for (int64_t t = length - 1; t > 0; --t)
        if (first[t].item<bool>()) {
          begin += t;
          break;
        }
    }
    const int64_t shown = rows - begin;
    if (shown <= context) return;
    const data::Batch recent = replay_.window(0, begin, shown);
    const at::Tensor real = recent.obs[0].to(torch::kFloat) * obs_scale_;  // [T, C, H, W]
    // Real frames next to the model's reconstruction of each, where it has one.
    const at::Tensor recon = world_model.reconstruct(recent.obs[0]);
    if (recon.defined()) {
      const auto real_frames = to_frames(real);
      const auto recon_frames = to_frames(recon.cpu());
      std::vector<Frame> pairs;
      for (int64_t t = 0; t < shown; ++t) pairs.push_back(hstack({real_frames[t], recon_frames[t]}));
      write_gif(fmt::format("{}/reconstruction-{:08d}.gif", media_dir_, step_), pairs, 10, scale);
    }

    // Imagination from a real context: the real continuation | the model fed the real
    // actions (open loop) | the model following the policy. Context positions show the real
    // frames (or their reconstructions).
    // The first imagined state shows frame `offset` of the window.
    const int64_t offset = world_model.starts_after_context() ? context : context - 1;
    const int64_t horizon = shown - offset;
    const data::Batch d = recent.to(device_);
    data::Batch start;
    start.obs = d.obs.narrow(1, 0, context);
    start.action = d.action.narrow(1, 0, context);
    start.first = d.first.narrow(1, 0, context);
    models::WorldStatePtr open_state = world_model.imagination_start(start);
    models::WorldStatePtr policy_state = open_state;
    std::vector<at::Tensor> open_loop, policy;
    for (int64_t i = 0; i < horizon; ++i) {
      open_loop.push_back(model.decode(open_state).cpu());
      policy.push_back(model.decode(policy_state).cpu());
      if (i + 1 == horizon) break;
      open_state = model.step(open_state, d.action.select(1, offset + i)).state;
      const at::Tensor a = agents::sample_actions(agent_->actor_critic().policy_logits(model.features(policy_state)));
      policy_state = model.step(policy_state, a).state;
    }
    const at::Tensor context_frames = (recon.defined() ? recon.cpu() : real).narrow(0, 0, offset);
    const auto real_all = to_frames(real);
    const auto open_frames = to_frames(torch::cat({context_frames, torch::cat(open_loop)}));
    const auto policy_frames = to_frames(torch::cat({context_frames, torch::cat(policy)}));
    std::vector<Frame> triples;
    for (int64_t t = 0; t < shown; ++t) triples.push_back(hstack({real_all[t], open_frames[t], policy_frames[t]}));
    write_gif(fmt::format("{}/imagination-{:08d}.gif", media_dir_, step_), triples, 10, scale);
  } catch (const std::exception& e) {
    spdlog::warn("storm: media disabled: {}", e.what());
    media_failed_ = true;
  }
}

void StormJob::add(const std::string& key, const at::Tensor& value) {
  auto& s = sums_[key];
  const at::Tensor v = value.detach().to(torch::kDouble);
  s.first = s.first.defined() ? s.first + v : v;
  s.second += 1;
}

void StormJob::add(const std::string& key, double value) { add(key, torch::tensor(value, torch::kDouble)); }

std::map<std::string, double> StormJob::take_metrics() {
  std::map<std::string, double> out;
  for (const auto& [key, s] : sums_) out[key] = s.first.item<double>() / static_cast<double>(s.second);
  for (const auto& [key, value] : out)
    if (key.rfind("time/", 0) != 0 && !std::isfinite(value))
      throw DivergenceError(fmt::format("storm: {} became {} by step {}; lower the learning rates, then --resume",
                                        key, value, step_));
  if (!episode_returns_.empty()) {
    double r = 0, l = 0;
    for (size_t i = 0; i < episode_returns_.size(); ++i) {
      r += episode_returns_[i];
      l += episode_lengths_[i];
    }
    out["episode/return"] = r / static_cast<double>(episode_returns_.size());
    out["episode/length"] = l / static_cast<double>(episode_returns_.size());
    out["episode/count"] = static_cast<double>(episode_returns_.size());
  }
  out["replay/rows"] = static_cast<double>(replay_.size());
  out["updates/world_model"] = static_cast<double>(world_model_updates_);
  out["updates/actor_critic"] = static_cast<double>(actor_critic_updates_);
  sums_.clear();
  episode_returns_.clear();
  episode_lengths_.clear();
  return out;
}

std::string StormJob::progress_metric() const {
  return have_return_ ? fmt::format("return {:.2f}", recent_return_) : "";
}

void StormJob::save(OutputArchive& archive, nlohmann::json& meta) {
  agent_->save(archive);
  save_torch_rng(archive);

  const auto& h = env_.history();
  archive.write("env_actions", torch::from_blob(const_cast<uint8_t*>(h.actions.data()),
                                                {static_cast<int64_t>(h.actions.size())}, torch::kUInt8)
                                   .clone());
  meta["env_seed"] = h.seed;
  if (options_.save_replay_in_checkpoint) {
    std::ostringstream bytes;
    replay_.write(bytes);
    const std::string s = bytes.str();
    archive.write("replay", torch::from_blob(const_cast<char*>(s.data()), {static_cast<int64_t>(s.size())},
                                             torch::kUInt8)
                                .clone());  // the archive is written after `s` is gone
  }
  meta["replay_in_checkpoint"] = options_.save_replay_in_checkpoint;
  const auto& spec = env_.spec();
  archive.write("acting_obs", acting_.obs.empty()
                                  ? torch::zeros({0, spec.channels, spec.height, spec.width}, torch::kUInt8)
                                  : torch::stack(acting_.obs));
  archive.write("acting_actions", torch::tensor(acting_.actions, torch::kLong));

  meta["rng"] = rng_to_json(rng_);
  meta["first"] = first_;
  if (explorer_) meta["exploration"] = explorer_->state();
  meta["world_model_updates"] = world_model_updates_;
  meta["actor_critic_updates"] = actor_critic_updates_;
  meta["recent_return"] = recent_return_;
  meta["have_return"] = have_return_;
  meta["episode_returns"] = episode_returns_;
  meta["episode_lengths"] = episode_lengths_;
  nlohmann::json sums = nlohmann::json::object();
  for (const auto& [key, s] : sums_) sums[key] = {s.first.item<double>(), s.second};
  meta["metric_sums"] = sums;
}

void StormJob::load(InputArchive& archive, const nlohmann::json& meta) {
  agent_->load(archive);

  envs::VectorEnv::History history;
  history.seed = meta.at("env_seed").get<uint64_t>();
  at::Tensor actions;
  archive.read("env_actions", actions);
  history.actions.assign(actions.data_ptr<uint8_t>(), actions.data_ptr<uint8_t>() + actions.numel());
  if (meta.at("replay_in_checkpoint").get<bool>()) {
    at::Tensor bytes;
    archive.read("replay", bytes);
    bytes = bytes.contiguous();
    std::istringstream in(std::string(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()),
                                      static_cast<size_t>(bytes.numel())));
    replay_ = data::ReplayBuffer::read(in, bytes.numel(), "the replay buffer in the checkpoint",
                                       config_.replay.pin_memory);
    env_.restore(history);
  } else {
    rebuild_replay(history);
  }
  obs_ = env_.step_result().obs[0].clone();

  at::Tensor acting_obs, acting_actions;
  archive.read("acting_obs", acting_obs);
  archive.read("acting_actions", acting_actions);
  acting_.clear();
  for (int64_t i = 0; i < acting_obs.size(0); ++i) {
    acting_.obs.push_back(acting_obs[i].clone());
    acting_.actions.push_back(acting_actions[i].item<int64_t>());
  }

  // The Torch generator last: replaying the history above must not disturb it.
  load_torch_rng(archive);
  rng_from_json(meta.at("rng"), rng_);
  step_ = meta.at("step").get<int64_t>();
  first_ = meta.at("first").get<bool>();
  if (explorer_ && meta.contains("exploration")) explorer_->set_state(meta.at("exploration"));
  world_model_updates_ = meta.at("world_model_updates").get<int64_t>();
  actor_critic_updates_ = meta.at("actor_critic_updates").get<int64_t>();
  recent_return_ = meta.at("recent_return").get<double>();
  have_return_ = meta.at("have_return").get<bool>();
  episode_returns_ = meta.at("episode_returns").get<std::vector<double>>();
  episode_lengths_ = meta.at("episode_lengths").get<std::vector<double>>();
  sums_.clear();
  for (const auto& [key, s] : meta.at("metric_sums").items())
    sums_[key] = {torch::tensor(s.at(0).get<double>(), torch::kDouble), s.at(1).get<int64_t>()};
}

void StormJob::rebuild_replay(const envs::VectorEnv::History& history) {
  // The environment is deterministic given its seed and actions, so stepping it through the
  // history again regenerates exactly the rows stored the first time.
  replay_ = data::ReplayBuffer(config_.replay, env_.spec().obs_shape(), 1);
  at::Tensor obs = env_.reset(history.seed).obs[0].clone();
  bool first = true;
  for (uint8_t a : history.actions) {
    const envs::StepResult& r = env_.step(torch::tensor({static_cast<int64_t>(a)}, torch::kLong));
    store(obs, a, r, first);
    first = r.terminated[0].item<bool>() || r.truncated[0].item<bool>();
    obs = r.obs[0].clone();
  }
}

std::vector<std::pair<std::string, int64_t>> StormJob::parameter_counts() { return agent_->parameter_counts(); }

Policy StormJob::policy() {
  // Each environment of the caller keeps its own acting context, cleared when its episode
  // starts; the policy holds them, so every call continues the same episodes.
  auto contexts = std::make_shared<std::vector<ActingContext>>();
  return [this, contexts](const at::Tensor& obs, const at::Tensor& first) {
    const int64_t n = obs.size(0);
    contexts->resize(static_cast<size_t>(n));
    std::vector<int64_t> actions(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      auto& context = (*contexts)[static_cast<size_t>(i)];
      if (first[i].item<bool>()) context.clear();
      const at::Tensor o = obs[i];
      actions[static_cast<size_t>(i)] = agent_->act(context, o, rng_);
      context.push(o, actions[static_cast<size_t>(i)], options_.acting_context - 1);
    }
    return torch::tensor(actions, torch::kLong);
  };
}

std::vector<double> StormJob::evaluate(int64_t episodes, uint64_t seed) {
  // Evaluation must not shift the training's random streams: the CPU generator, the CUDA
  // generator of the run's device, and the job's own.
  auto generator = at::detail::getDefaultCPUGenerator();
  const at::Tensor torch_state = generator.get_state();
  std::optional<at::Tensor> cuda_state;
  if (device_.is_cuda()) cuda_state = at::globalContext().defaultGenerator(device_).get_state();
  const Rng::State rng_state = rng_.state();
  std::vector<double> returns = evaluate_policy(config_.env, policy(), episodes, seed);
  generator.set_state(torch_state);
  if (cuda_state) {
    at::Generator cuda = at::globalContext().defaultGenerator(device_);  // a handle to the same generator
    cuda.set_state(*cuda_state);
  }
  rng_.set_state(rng_state);
  return returns;
}

std::unique_ptr<Job> make_storm_job(const Config& config) { return std::make_unique<StormJob>(config); }

}  // namespace imagine::train
