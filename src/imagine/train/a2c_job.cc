// kind = "a2c": model-free A2C on a vector of environments.
#include <torch/torch.h>

#include <fmt/format.h>

#include "imagine/agents/a2c/a2c.h"
#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/core/finite.h"
#include "imagine/envs/vector_env.h"
#include "imagine/train/evaluator.h"
#include "imagine/train/job.h"

namespace imagine::train {

namespace {

class A2CJob : public Job {
 public:
  explicit A2CJob(const Config& config)
      : config_(config),
        env_(config.env, config.a2c.num_envs, config.a2c.env_threads),
        agent_(env_.spec(), config.a2c, parse_device(config.device)) {
    obs_ = env_.reset(static_cast<uint64_t>(config.seed)).obs.clone();
  }

  std::string kind() const override { return "a2c"; }
  int64_t step() const override { return step_; }

  void advance() override {
    const auto& o = config_.a2c;
    const int64_t T = o.rollout, N = o.num_envs;
    agents::A2CRollout r;
    std::vector<at::Tensor> obs, actions, rewards, terminated, truncated, final_obs;
    for (int64_t t = 0; t < T; ++t) {
      const auto a = agent_.act(obs_);
      const auto& res = env_.step(a);
      obs.push_back(obs_);
      actions.push_back(a);
      rewards.push_back(res.reward.clone());
      terminated.push_back(res.terminated.clone());
      truncated.push_back(res.truncated.clone());
      final_obs.push_back(res.final_obs.clone());
      obs_ = res.obs.clone();
      const auto done = torch::logical_or(res.terminated, res.truncated);
      const bool* d = done.data_ptr<bool>();
      for (int64_t i = 0; i < N; ++i)
        if (d[i]) {
          episode_returns_.push_back(res.episode_return[i].item<double>());
          recent_return_ = 0.95 * recent_return_ + 0.05 * episode_returns_.back();
          if (!have_return_) recent_return_ = episode_returns_.back();
          have_return_ = true;
        }
    }
    r.obs = torch::stack(obs);
    r.action = torch::stack(actions);
    r.reward = torch::stack(rewards);
    r.terminated = torch::stack(terminated);
    r.truncated = torch::stack(truncated);
    r.final_obs = torch::stack(final_obs);
    r.last_obs = obs_;
    const auto losses = agent_.update(r);
    check_finite("a2c: the update", step_ + T * N,
                 {{"loss/total", losses.total},
                  {"loss/policy", losses.policy},
                  {"loss/value", losses.value},
                  {"parameters", parameters_norm(agent_.net().parameters())}});
    add("loss/total", losses.total.item<double>());
    add("loss/policy", losses.policy.item<double>());
    add("loss/value", losses.value.item<double>());
    add("entropy", losses.entropy.item<double>());
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
    sums_.clear();
    episode_returns_.clear();
    return out;
  }

  std::string progress_metric() const override {
    return have_return_ ? fmt::format("return {:.2f}", recent_return_) : "";
  }

  void save(OutputArchive& archive, nlohmann::json& meta) override {
    agent_.save(archive);
    save_torch_rng(archive);
    const auto& h = env_.history();
    auto actions = torch::from_blob(const_cast<uint8_t*>(h.actions.data()), {static_cast<int64_t>(h.actions.size())},
                                    torch::kUInt8);
    archive.write("env_actions", actions.clone());
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
    agent_.load(archive);
    load_torch_rng(archive);
    torch::Tensor actions;
    archive.read("env_actions", actions);
    envs::VectorEnv::History h;
    h.seed = meta.at("env_seed").get<uint64_t>();
    h.actions.assign(actions.data_ptr<uint8_t>(), actions.data_ptr<uint8_t>() + actions.numel());
    env_.restore(h);
    obs_ = env_.step_result().obs.clone();
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
    int64_t total = 0;
    for (const auto& child : agent_.net().named_children()) {
      int64_t n = 0;
      for (const auto& p : child.value()->parameters()) n += p.numel();
      out.emplace_back("a2c/" + child.key(), n);
      total += n;
    }
    out.emplace_back("a2c", total);
    return out;
  }

  Policy policy() override {
    return [this](const at::Tensor& obs, const at::Tensor&) { return agent_.act(obs); };
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
  agents::A2CAgent agent_;
  at::Tensor obs_;
  int64_t step_ = 0;
  std::map<std::string, std::pair<double, int64_t>> sums_;
  std::vector<double> episode_returns_;
  double recent_return_ = 0.0;
  bool have_return_ = false;
};

}  // namespace

std::unique_ptr<Job> make_a2c_job(const Config& config) { return std::make_unique<A2CJob>(config); }

}  // namespace imagine::train
