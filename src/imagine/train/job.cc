#include "imagine/train/job.h"

#include <fmt/format.h>

#include <filesystem>
#include <set>
#include <stdexcept>

#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/envs/registry.h"
#include "imagine/train/a2c_job.h"
#include "imagine/train/env_model_job.h"
#include "imagine/train/storm_job.h"

namespace imagine::train {

std::unique_ptr<Job> make_storm_job(const Config& config);
std::unique_ptr<Job> make_env_model_job(const Config& config);

Policy Job::policy() { throw UserError("a '" + kind() + "' run has no acting policy"); }

const JobKind& job_kind(Kind kind) {
  static const std::vector<JobKind> kinds = {
      {Kind::kStorm, validate_storm, make_storm_job, true, load_loop_world_model},
      {Kind::kA2C, {}, make_a2c_job, true, {}},
      {Kind::kEnvModel, validate_env_model, make_env_model_job, false, env_model_world_model},
      {Kind::kI2A, validate_i2a, make_a2c_job, true, {}},
  };
  for (const auto& k : kinds)
    if (k.kind == kind) return k;
  throw std::logic_error("job kind " + config::enum_name(kind) + " is not registered");
}

envs::EnvSpec validate(const Config& config) {
  const JobKind& kind = job_kind(config.kind);
  if (config.precision != Precision::kFp32 && kind.kind != Kind::kStorm)
    throw UserError("precision = \"" + config::enum_name(config.precision) +
                    "\" is implemented for kind = \"storm\" only; use \"fp32\"");
  parse_device(config.device);
  // Building the environment checks its id, its options and (for Atari) its ROM.
  const envs::EnvSpec spec = envs::default_registry().make(config.env)->spec();
  if (kind.validate) kind.validate(config, spec);
  return spec;
}

std::unique_ptr<Job> make_job(const Config& config, envs::EnvSpec* env_spec) {
  const envs::EnvSpec spec = validate(config);
  if (env_spec) *env_spec = spec;
  return job_kind(config.kind).make(config);
}

void check_resume_changes(const Config& before, const Config& after) {
  static const std::set<std::string> kMayChange = {
      "name",          "steps",        "checkpoint_every",  "checkpoint_keep", "checkpoint_keep_every",
      "log_every",     "eval_episodes", "threads",          "device",          "storm.media_every",
      "storm.media_length", "env_model.eval_every"};
  Config a = before, b = after;
  const auto old_values = config::flatten(a), new_values = config::flatten(b);
  for (const auto& [key, value] : new_values) {
    const std::string& old = old_values.at(key);
    if (value == old || kMayChange.count(key)) continue;
    std::string allowed;
    for (const auto& k : kMayChange) allowed += (allowed.empty() ? "" : ", ") + k;
    throw UserError(fmt::format("--resume cannot change {} ({} -> {}): a run's environment, models and loop are "
                                "fixed when it starts; on resume only {} may change (start a new run instead)",
                                key, old, value, allowed));
  }
}

}  // namespace imagine::train
