// kind = "env_model": trains an environment model of Buesing et al. 2018 (any class, jumpy
// or not) from a dataset file by Adam on random within-episode sequences. One unit of work
// (a runner "step") is one update; held-out NLL (negative ELBO for latent classes) every
// env_model.eval_every updates on a fixed set of held-out sequences.
#include "imagine/train/env_model_job.h"

#include "imagine/models/ssm/ssm_world_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

#include "imagine/core/checkpoint.h"
#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/core/finite.h"
#include "imagine/core/log.h"
#include "imagine/envs/registry.h"
#include "imagine/nn/parameter_count.h"
#include "imagine/train/job.h"

namespace imagine::train {

namespace ssm = models::ssm;

data::ReplayBuffer load_env_model_dataset(const std::string& path, const std::string& what) {
  if (path.empty())
    throw UserError("no " + what + " given: set env_model.dataset to a file made by `imagine collect ID --steps N "
                    "--out FILE --set env.obs=rgb` (e.g. imagine collect minipacman/regular --steps 50000 --out "
                    "data/pacman.replay --set env.obs=rgb)");
  if (!std::filesystem::exists(path))
    throw UserError(what + " '" + path + "' does not exist; make it with `imagine collect ID --steps N --out " + path +
                    " --set env.obs=rgb`");
  data::ReplayBuffer buffer = data::ReplayBuffer::load(path);
  const auto& shape = buffer.obs_shape();
  if (shape.size() != 3 || shape[0] != 3 || shape[1] != shape[2] || shape[1] % 8 != 0)
    throw UserError(fmt::format("{} '{}' has frames of shape [{}]; environment models need RGB frames 3 x S x S "
                                "with S divisible by 8 (collect with --set env.obs=rgb)",
                                what, path, fmt::join(shape, ", ")));
  return buffer;
}

std::string env_model_heldout_path(const Config& config) {
  if (!config.env_model.heldout.empty()) return config.env_model.heldout;
  const std::filesystem::path p(config.env_model.dataset);
  return (p.parent_path() / (p.stem().string() + ".heldout" + p.extension().string())).string();
}

void check_dataset_source(const Config& config, const data::ReplayBuffer& dataset, const std::string& path) {
  const nlohmann::json& source = dataset.source();
  if (!source.contains("env") || !source["env"].is_object()) return;  // a version 1 file: warned on load
  Config wanted = config;
  const auto env = config::flatten(wanted.env);
  for (const auto& [key, value] : source["env"].items()) {
    const auto it = env.find(key);
    const std::string recorded = value.is_string() ? value.get<std::string>() : value.dump();
    if (it != env.end() && it->second != recorded)
      throw UserError(fmt::format("dataset '{}' was collected with env.{} = {}, but this config has env.{} = {}; set "
                                  "[env] to the environment the dataset was collected from",
                                  path, key, recorded, key, it->second));
  }
}

void validate_env_model(const Config& config, const envs::EnvSpec& spec) {
  const auto& e = config.env_model;
  for (const auto& [path, what] : {std::pair{e.dataset, "dataset"}, std::pair{e.heldout, "held-out dataset"}}) {
    if (path.empty() && std::string(what) == "held-out dataset") continue;
    if (path.empty() || !std::filesystem::is_regular_file(path))
      load_env_model_dataset(path, what);  // raises the message that says how to make one
  }
  ssm::EnvModelOptions o = e;
  o.image_channels = spec.channels;
  o.image_size = spec.height;
  o.num_actions = spec.num_actions;
  o.validate();
  if (e.past_episode_end && e.jump != 1)
    throw UserError(fmt::format("env_model.past_episode_end = true needs env_model.jump = 1, got {}", e.jump));
}

ssm::EnvModelOptions resolve_env_model_options(const Config& config) {
  return resolve_env_model_options(config, envs::default_registry().make(config.env)->spec());
}

ssm::EnvModelOptions resolve_env_model_options(const Config& config, const envs::EnvSpec& spec) {
  ssm::EnvModelOptions o = config.env_model;  // the EnvModelOptions part of the section
  o.image_channels = spec.channels;
  o.image_size = spec.height;
  o.num_actions = spec.num_actions;
  o.validate();
  return o;
}

ssm::EnvModelOptions resolve_env_model_options(const Config& config, const data::ReplayBuffer& dataset) {
  const auto env_shape = envs::default_registry().make(config.env)->spec().obs_shape();
  if (env_shape != dataset.obs_shape())
    throw UserError(fmt::format("the dataset's frames are [{}] but env.id = {} with env.obs = {} gives [{}]; set [env] "
                                "to the environment the dataset was collected from",
                                fmt::join(dataset.obs_shape(), ", "), config.env.id, config::enum_name(config.env.obs),
                                fmt::join(env_shape, ", ")));
  return resolve_env_model_options(config);
}

std::shared_ptr<models::WorldModel> env_model_world_model(const Config& config, const envs::EnvSpec& spec,
                                                          InputArchive& archive) {
  ssm::EnvModel model(resolve_env_model_options(config, spec));
  InputArchive m;
  archive.read("model", m);
  model->load(m);
  return std::make_shared<ssm::SsmWorldModel>(model);
}

std::vector<ssm::SequenceBatch> sample_sequences(const data::ReplayBuffer& dataset, const ssm::EnvModelOptions& o,
                                                 int64_t count, int64_t batch, uint64_t seed) {
  Rng rng(seed);
  std::vector<ssm::SequenceBatch> out;
  const int64_t rows = (o.context + o.horizon) * o.jump;
  for (int64_t done = 0; done < count; done += batch) {
    const int64_t b = std::min(batch, count - done);
    out.push_back(ssm::make_sequence_batch(dataset.sample(b, rows, rng, true), o.context, o.horizon, o.jump));
  }
  return out;
}

namespace {
ssm::SequenceBatch to_device(const ssm::SequenceBatch& b, const c10::Device& device) {
  auto moved = [&](const at::Tensor& t) { return t.defined() ? t.to(device) : t; };
  return {moved(b.context),    moved(b.frames),     moved(b.action),   moved(b.reward),
          moved(b.terminated), moved(b.frame_mask), moved(b.step_mask)};
}
c10::Device model_device(ssm::EnvModel& model) { return model->parameters().front().device(); }
}  // namespace

ssm::EvalReport evaluate_env_model(ssm::EnvModel& model, const std::vector<ssm::SequenceBatch>& sequences,
                                   uint64_t noise_seed) {
  auto generator = at::detail::getDefaultCPUGenerator();
  at::Tensor saved;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    saved = generator.get_state();
  }
  const bool was_training = model->is_training();
  model->eval();
  torch::manual_seed(noise_seed);
  ssm::Evaluator evaluator(model);
  const c10::Device device = model_device(model);
  for (const auto& s : sequences) evaluator.add(to_device(s, device));
  model->train(was_training);
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(saved);
  }
  return evaluator.report();
}

ssm::EnvModel load_env_model(const Config& config, const data::ReplayBuffer& dataset, const std::string& path,
                             int64_t* step) {
  ssm::EnvModel model(resolve_env_model_options(config, dataset));
  const int64_t s = load_checkpoint(path, "env_model", [&](InputArchive& a, const nlohmann::json&) {
    InputArchive m;
    a.read("model", m);
    model->load(m);
  });
  if (step) *step = s;
  model->to(parse_device(config.device));
  model->eval();
  return model;
}

namespace {

class EnvModelJob : public Job {
 public:
  explicit EnvModelJob(const Config& config)
      : config_(config),
        train_(load_env_model_dataset(config.env_model.dataset, "dataset")),
        options_((check_dataset_source(config, train_, config.env_model.dataset),
                  resolve_env_model_options(config, train_))),
        device_(parse_device(config.device)),
        model_(options_),
        rng_(static_cast<uint64_t>(config.seed) * 0x9e3779b97f4a7c15ULL + 17) {
    model_->to(device_);
    optimizer_ = std::make_unique<torch::optim::Adam>(model_->parameters(), torch::optim::AdamOptions(options_.lr));
    const std::string held = env_model_heldout_path(config);
    if (std::filesystem::exists(held)) {
      const auto heldout = load_env_model_dataset(held, "held-out dataset");
      if (heldout.obs_shape() != train_.obs_shape())
        throw UserError("held-out dataset '" + held + "' has other frame shapes than the dataset");
      const auto& a = train_.source(), &b = heldout.source();
      if (a.contains("collection") && b.contains("collection") && a["collection"] != b["collection"])
        throw UserError("held-out dataset '" + held + "' was not collected together with '" +
                        config.env_model.dataset + "' (`imagine collect` writes the pair); collect them again");
      try {
        heldout_ = sample_sequences(heldout, options_, config.env_model.eval_sequences, config.env_model.batch_size,
                                    static_cast<uint64_t>(config.seed) + 7919);
      } catch (const UserError& e) {
        throw UserError("held-out dataset '" + held + "': " + e.what());
      }
    } else if (!config.env_model.heldout.empty()) {
      throw UserError("held-out dataset '" + held + "' does not exist");
    } else {
      spdlog::warn("no held-out dataset '{}': training without held-out evaluation", held);
    }
  }

  std::string kind() const override { return "env_model"; }
  int64_t step() const override { return step_; }

  void advance() override {
    const int64_t rows = (options_.context + options_.horizon) * options_.jump;
    const bool past_end = config_.env_model.past_episode_end;
    const auto window = train_.sample(config_.env_model.batch_size, rows, rng_, !past_end);
    const auto batch =
        to_device(ssm::make_sequence_batch(window, options_.context, options_.horizon, options_.jump, past_end), device_);
    model_->train();
    const ssm::Losses l = model_->loss(batch);
    optimizer_->zero_grad();
    l.total.backward();
    optimizer_->step();
    ++step_;
    check_finite("env_model: the update", step_,
                 {{"loss/total", l.total},
                  {"loss/reconstruction", l.reconstruction},
                  {"loss/reward", l.reward},
                  {"loss/kl", l.kl},
                  {"parameters", parameters_norm(model_->parameters())}});
    add("loss/total", l.total.item<double>());
    add("loss/reconstruction", l.reconstruction.item<double>());
    add("loss/reward", l.reward.item<double>());
    add("loss/kl", l.kl.item<double>());
    if (options_.continue_head) add("loss/termination", l.termination.item<double>());
    add("reward_accuracy", l.reward_accuracy.item<double>());
    recent_loss_ = step_ == 1 ? l.total.item<double>() : 0.95 * recent_loss_ + 0.05 * l.total.item<double>();
    if (!heldout_.empty() && (step_ % config_.env_model.eval_every == 0 || step_ == config_.steps)) {
      const auto r = evaluate_env_model(model_, heldout_, static_cast<uint64_t>(config_.seed) + 104729);
      add("heldout/nll_nats", r.nll_nats);
      add("heldout/bits_per_dim", r.bits_per_dim);
      add("heldout/reward_accuracy", r.reward_accuracy);
      heldout_nll_ = r.nll_nats;
    }
  }

  std::map<std::string, double> take_metrics() override {
    std::map<std::string, double> out;
    for (const auto& [k, v] : sums_) out[k] = v.first / static_cast<double>(v.second);
    sums_.clear();
    return out;
  }

  std::string progress_metric() const override {
    std::string s = fmt::format("loss {:.1f}", recent_loss_);
    if (heldout_nll_ >= 0) s += fmt::format(", held-out {:.1f} nats", heldout_nll_);
    return s;
  }

  void save(OutputArchive& archive, nlohmann::json& meta) override {
    OutputArchive model, optim;
    model_->save(model);
    optimizer_->save(optim);
    archive.write("model", model);
    archive.write("optimizer", optim);
    save_torch_rng(archive);
    meta["rng"] = rng_to_json(rng_);
    meta["dataset_checksum"] = train_.checksum();
    meta["recent_loss"] = recent_loss_;
    meta["heldout_nll"] = heldout_nll_;
    nlohmann::json sums = nlohmann::json::object();
    for (const auto& [k, v] : sums_) sums[k] = {v.first, v.second};
    meta["sums"] = sums;
  }

  void load(InputArchive& archive, const nlohmann::json& meta) override {
    InputArchive model, optim;
    archive.read("model", model);
    archive.read("optimizer", optim);
    model_->load(model);
    model_->to(device_);
    optimizer_->load(optim);
    move_optimiser_state(*optimizer_, device_);
    load_torch_rng(archive);
    rng_from_json(meta.at("rng"), rng_);
    const uint32_t trained_on = meta.value("dataset_checksum", 0u);
    if (trained_on != 0 && train_.checksum() != 0 && trained_on != train_.checksum())
      throw UserError(fmt::format("dataset '{}' is not the one this run was trained on (checksum {:08x}, the run's "
                                  "{:08x}); point env_model.dataset at the original file",
                                  config_.env_model.dataset, train_.checksum(), trained_on));
    step_ = meta.at("step").get<int64_t>();
    recent_loss_ = meta.at("recent_loss").get<double>();
    heldout_nll_ = meta.at("heldout_nll").get<double>();
    sums_.clear();
    const auto& sums = meta.at("sums");
    for (auto it = sums.begin(); it != sums.end(); ++it)
      sums_[it.key()] = {it.value().at(0).get<double>(), it.value().at(1).get<int64_t>()};
  }

  std::vector<std::pair<std::string, int64_t>> parameter_counts() override {
    std::vector<std::pair<std::string, int64_t>> out;
    nn::append_parameter_counts(*model_, "env_model", out);
    return out;
  }

  std::vector<double> evaluate(int64_t, uint64_t) override {
    throw UserError("an env_model run plays no episodes; `imagine eval RUN` reports its held-out likelihood");
  }

 private:
  void add(const std::string& key, double v) {
    auto& s = sums_[key];
    s.first += v;
    s.second += 1;
  }

  Config config_;
  data::ReplayBuffer train_;
  ssm::EnvModelOptions options_;
  c10::Device device_;
  ssm::EnvModel model_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  Rng rng_;
  std::vector<ssm::SequenceBatch> heldout_;
  int64_t step_ = 0;
  double recent_loss_ = 0.0;
  double heldout_nll_ = -1.0;
  std::map<std::string, std::pair<double, int64_t>> sums_;
};

}  // namespace

std::unique_ptr<Job> make_env_model_job(const Config& config) { return std::make_unique<EnvModelJob>(config); }

}  // namespace imagine::train
