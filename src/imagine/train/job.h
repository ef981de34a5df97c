#pragma once
// A training job (A2C, STORM, environment-model training) as the runner sees it: advance
// in units of work, report metrics, save and restore everything needed for exact resume.
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "imagine/core/checkpoint.h"
#include "imagine/envs/env.h"
#include "imagine/models/world_model.h"
#include "imagine/train/config.h"
#include "imagine/train/evaluator.h"

namespace imagine::train {

class Job {
 public:
  virtual ~Job() = default;
  virtual std::string kind() const = 0;
  // Environment steps taken so far (the unit of `steps`, checkpoints and logs).
  virtual int64_t step() const = 0;
  // One unit of work (a rollout and an update, or one environment step and its updates).
  virtual void advance() = 0;
  // Averages of the scalars since the last call, then resets them.
  virtual std::map<std::string, double> take_metrics() = 0;
  // A short "name value" summary for the progress line.
  virtual std::string progress_metric() const = 0;
  virtual void save(OutputArchive& archive, nlohmann::json& meta) = 0;
  virtual void load(InputArchive& archive, const nlohmann::json& meta) = 0;
  // Parameter count of every module and its parts, e.g. {"world_model/encoder", 690000}.
  virtual std::vector<std::pair<std::string, int64_t>> parameter_counts() = 0;
  // The current acting policy, for data collection by other tools (`imagine collect`).
  virtual Policy policy();
  // Returns of `episodes` complete episodes with the current policy.
  virtual std::vector<double> evaluate(int64_t episodes, uint64_t seed) = 0;
  // Where the job may write pictures and animations (the run's media/); none by default.
  virtual void set_media_dir(const std::string& /*dir*/) {}
};

// A kind of job (config `kind`): how to check a config of it, build it, and evaluate it. The
// one place that knows the kinds; commands ask it instead of comparing strings.
struct JobKind {
  Kind kind;
  // The kind's own checks of a config (after the common ones); may be empty.
  std::function<void(const Config&, const envs::EnvSpec&)> validate;
  std::function<std::unique_ptr<Job>(const Config&)> make;
  // Evaluated by playing complete episodes (`evaluate`); otherwise by its own measure
  // (environment models: held-out likelihood).
  bool plays_episodes = true;
  // The trained world model in a checkpoint of this kind (behind the world-model contract,
  // options resolved from the config and the spec of the environment it was trained on);
  // empty for kinds without one.
  std::function<std::shared_ptr<models::WorldModel>(const Config&, const envs::EnvSpec&, InputArchive&)> world_model;
};

// What the registry knows of `kind`.
const JobKind& job_kind(Kind kind);

// Every check a configuration must pass before a job can run: option ranges that depend on
// each other, the environment id and options, the device, the kind's models and loop, the
// datasets it reads and the memory its buffers need. `imagine config check` runs exactly this,
// and make_job runs it first, so the two never disagree. Raises UserError. Returns the spec
// of the environment it built.
envs::EnvSpec validate(const Config& config);

// Builds the job for config.kind (after validate()); `env_spec`, when given, receives the
// environment's spec (so that callers need not build the environment again).
std::unique_ptr<Job> make_job(const Config& config, envs::EnvSpec* env_spec = nullptr);

// Keys a resumed run may change (steps, checkpointing, logging, evaluation, threads, device,
// media); anything else raises UserError naming the key and both values.
void check_resume_changes(const Config& before, const Config& after);

}  // namespace imagine::train
