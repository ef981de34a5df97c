// kind = "a2c": model-free A2C on a vector of environments; kind = "i2a": the same learner
// training the imagination-augmented agent (agents/i2a) on a frozen world model. The agent
// sees the last L frames of each environment's episode (L = the world model's context; 1 for
// the model-free agent), the first frame repeated at an episode's start.
#include "imagine/train/a2c_job.h"

#include <torch/torch.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "imagine/agents/a2c/a2c.h"
#include "imagine/agents/i2a/i2a.h"
#include "imagine/models/copy_model.h"
#include "imagine/nn/parameter_count.h"
#include "imagine/train/run_models.h"
#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/core/finite.h"
#include "imagine/envs/registry.h"
#include "imagine/envs/vector_env.h"
#include "imagine/train/evaluator.h"
#include "imagine/train/job.h"

namespace imagine::train {

namespace {

// The world model an I2A config names: a trained run's, or the copy model.
std::shared_ptr<models::WorldModel> i2a_world_model(const Config& config, const envs::EnvSpec& spec,
                                                     int64_t* data_steps = nullptr) {
  const std::string& source = config.i2a.world_model;
  if (data_steps) *data_steps = 0;
  if (source == "copy")
    return std::make_shared<models::CopyModel>(spec.obs_shape(), spec.num_actions, spec.obs_scale);
  TrainedWorldModel trained = load_world_model(source, parse_device(config.device));
  check_world_model_fits(trained, spec, "i2a.world_model");
  if (data_steps) {
    // Learning curves count the steps that collected the model's training data.
    if (trained.config.kind == Kind::kStorm) {
      *data_steps = trained.step;
    } else {
      try {
        *data_steps = data::ReplayBuffer::stored_rows(trained.config.env_model.dataset);
      } catch (const std::exception& e) {
        spdlog::warn("i2a: the world model's dataset is not readable ({}); its steps are not counted", e.what());
      }
    }
  }
  return trained.model;
}

// Frames the agent sees: [N, L, C, H, W], the newest last.
at::Tensor push_frame(const at::Tensor& frames, const at::Tensor& obs) {
  return torch::cat({frames.narrow(1, 1, frames.size(1) - 1), obs.unsqueeze(1)}, 1);
}

// What the network reads: the frames, or the frame alone when it looks at one.
at::Tensor agent_input(const at::Tensor& frames) { return frames.size(1) == 1 ? frames.select(1, 0) : frames; }

class A2CJob : public Job {
 public:
  explicit A2CJob(const Config& config)
      : config_(config),
        env_(config.env, config.a2c.num_envs, config.a2c.env_threads),
        made_(make_a2c_family_agent(config, env_.spec())),
        distills_(config.kind == Kind::kI2A &&
                  config.i2a.rollout_policy == agents::RolloutPolicyKind::kDistill),
        frames_(initial_frames(env_.reset(static_cast<uint64_t>(config.seed)).obs, made_.context)) {}

  std::string kind() const override { return config::enum_name(config_.kind); }
  int64_t step() const override { return step_; }

  void advance() override {
    const int64_t T = config_.a2c.rollout, N = config_.a2c.num_envs;
    const agents::A2CRollout r = collect_a2c_rollout(env_, made_.agent, frames_, T, [this](double episode_return) {
      episode_returns_.push_back(episode_return);
      recent_return_ = have_return_ ? 0.95 * recent_return_ + 0.05 * episode_return : episode_return;
      have_return_ = true;
    });
    const auto losses = made_.agent.update(r);
    check_finite("a2c: the update", step_ + T * N,
                 {{"loss/total", losses.total},
                  {"loss/policy", losses.policy},
                  {"loss/value", losses.value},
                  {"parameters", parameters_norm(made_.agent.net().parameters())}});
    add("loss/total", losses.total.item<double>());
    add("loss/policy", losses.policy.item<double>());
    add("loss/value", losses.value.item<double>());
    add("entropy", losses.entropy.item<double>());
    if (distills_) add("loss/distill", losses.aux.item<double>());
    step_ += T * N;
  }

  std::map<std::string, double> take_metrics() override {
    std::map<std::string, double> out;
    for (const auto& [k, v] : sums_) out[k] = v.first / static_cast<double>(v.second);
    if (!episode_returns_.empty()) {
      double s = 0;
      for (double x : episode_returns_) s += x;
      out["episode/return"] = s / static_cast<double>(episode_returns_.size());
      out["episode/count"] = static_cast<double>(episode_returns_.size());
    }
    if (made_.model_data_steps > 0)
      out["env_steps_with_model_data"] = static_cast<double>(step_ + made_.model_data_steps);
    sums_.clear();
    episode_returns_.clear();
    return out;
  }

  std::string progress_metric() const override {
    return have_return_ ? fmt::format("return {:.2f}", recent_return_) : "";
  }

  void save(OutputArchive& archive, nlohmann::json& meta) override {
    made_.agent.save(archive);
    save_torch_rng(archive);
    const auto& h = env_.history();
    auto actions = torch::from_blob(const_cast<uint8_t*>(h.actions.data()), {static_cast<int64_t>(h.actions.size())},
                                    torch::kUInt8);
    archive.write("env_actions", actions.clone());
    archive.write("frames", frames_);
    meta["env_seed"] = h.seed;
    meta["recent_return"] = recent_return_;
    meta["have_return"] = have_return_;
    // What the next metrics line averages, so a resumed run logs what an uninterrupted one does.
    nlohmann::json sums = nlohmann::json::object();
    for (const auto& [k, v] : sums_) sums[k] = {v.first, v.second};
    meta["metric_sums"] = sums;
    meta["episode_returns"] = episode_returns_;
  }

  void load(InputArchive& archive, const nlohmann::json& meta) override {
    made_.agent.load(archive);
    load_torch_rng(archive);
    torch::Tensor actions;
    archive.read("env_actions", actions);
    envs::VectorEnv::History h;
    h.seed = meta.at("env_seed").get<uint64_t>();
    h.actions.assign(actions.data_ptr<uint8_t>(), actions.data_ptr<uint8_t>() + actions.numel());
    env_.restore(h);
    archive.read("frames", frames_);
    step_ = meta.at("step").get<int64_t>();
    recent_return_ = meta.at("recent_return").get<double>();
    have_return_ = meta.at("have_return").get<bool>();
    sums_.clear();
    const nlohmann::json sums = meta.value("metric_sums", nlohmann::json::object());
    for (const auto& [k, v] : sums.items()) sums_[k] = {v.at(0).get<double>(), v.at(1).get<int64_t>()};
    episode_returns_ = meta.value("episode_returns", std::vector<double>{});
  }

  std::vector<std::pair<std::string, int64_t>> parameter_counts() override {
    std::vector<std::pair<std::string, int64_t>> out;
    const int64_t total = nn::append_parameter_counts(made_.agent.net(), kind(), out);
    if (config_.kind == Kind::kI2A) {
      // The model-free control's width whose parameter count first reaches the agent's.
      int64_t hidden = 1;
      auto control = [&](int64_t h) { return nn::parameter_count(agents::PolicyValueNetImpl(env_.spec(), h)); };
      int64_t high = 1;
      while (control(high) < total) high *= 2;
      while (hidden < high) {
        const int64_t mid = (hidden + high) / 2;
        if (control(mid) < total) hidden = mid + 1; else high = mid;
      }
      out.emplace_back(fmt::format("model-free control (kind = \"a2c\", a2c.hidden = {})", hidden), control(hidden));
    }
    return out;
  }

  Policy policy() override {
    // Each environment of the caller keeps its own frames, restarted with its episodes.
    auto frames = std::make_shared<at::Tensor>();
    return [this, frames](const at::Tensor& obs, const at::Tensor& first) {
      const int64_t context = made_.context;
      if (!frames->defined() || frames->size(0) != obs.size(0)) {
        *frames = initial_frames(obs, context);
      } else {
        *frames = torch::where(first.view({-1, 1, 1, 1, 1}), initial_frames(obs, context), push_frame(*frames, obs));
      }
      return made_.agent.act(agent_input(*frames));
    };
  }

  std::vector<double> evaluate(int64_t episodes, uint64_t seed) override {
    return evaluate_policy(config_.env, policy(), episodes, seed);
  }

 private:
  void add(const std::string& key, double v) {
    auto& s = sums_[key];
    s.first += v;
    s.second += 1;
  }

  Config config_;
  envs::VectorEnv env_;
  A2CFamilyAgent made_;
  const bool distills_;  // an I2A agent whose rollout policy learns by distillation
  at::Tensor frames_;  // [N, L, C, H, W] uint8
  int64_t step_ = 0;
  std::map<std::string, std::pair<double, int64_t>> sums_;
  std::vector<double> episode_returns_;
  double recent_return_ = 0.0;
  bool have_return_ = false;
};

}  // namespace

at::Tensor initial_frames(const at::Tensor& obs, int64_t context) {
  return obs.unsqueeze(1).expand({obs.size(0), context, obs.size(1), obs.size(2), obs.size(3)}).clone();
}

agents::A2CRollout collect_a2c_rollout(envs::VectorEnv& env, agents::A2CAgent& agent, at::Tensor& frames,
                                       int64_t length, const std::function<void(double)>& episode_end) {
  const int64_t n = frames.size(0);
  std::vector<at::Tensor> obs, actions, rewards, terminated, truncated, final_obs;
  for (int64_t t = 0; t < length; ++t) {
    const at::Tensor input = agent_input(frames);
    const at::Tensor action = agent.act(input);
    const auto& res = env.step(action);
    obs.push_back(input);
    actions.push_back(action);
    rewards.push_back(res.reward.clone());
    terminated.push_back(res.terminated.clone());
    truncated.push_back(res.truncated.clone());
    final_obs.push_back(agent_input(push_frame(frames, res.final_obs)));
    const at::Tensor done = torch::logical_or(res.terminated, res.truncated);
    frames = torch::where(done.view({n, 1, 1, 1, 1}), initial_frames(res.obs, frames.size(1)), push_frame(frames, res.obs));
    if (episode_end) {
      const bool* d = done.data_ptr<bool>();
      for (int64_t i = 0; i < n; ++i)
        if (d[i]) episode_end(res.episode_return[i].item<double>());
    }
  }
  agents::A2CRollout r;
  r.obs = torch::stack(obs);
  r.action = torch::stack(actions);
  r.reward = torch::stack(rewards);
  r.terminated = torch::stack(terminated);
  r.truncated = torch::stack(truncated);
  r.final_obs = torch::stack(final_obs);
  r.last_obs = agent_input(frames);
  return r;
}

A2CFamilyAgent make_a2c_family_agent(const Config& config, const envs::EnvSpec& spec) {
  const c10::Device device = parse_device(config.device);
  if (config.kind != Kind::kI2A) return {agents::A2CAgent(spec, config.a2c, device), 1, 0};
  int64_t data_steps = 0;
  auto model = i2a_world_model(config, spec, &data_steps);
  model->to(device);
  const int64_t context = model->context();
  return {agents::A2CAgent(std::make_shared<agents::I2ANetImpl>(spec, model, config.i2a, config.a2c.hidden),
                           config.a2c, device),
          context, data_steps};
}

std::unique_ptr<Job> make_a2c_job(const Config& config) { return std::make_unique<A2CJob>(config); }

void validate_i2a(const Config& config, const envs::EnvSpec& spec) {
  i2a_world_model(config, spec);
}

}  // namespace imagine::train
