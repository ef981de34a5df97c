#pragma once
// A training job (A2C, STORM, environment-model training) as the runner sees it: advance
// in units of work, report metrics, save and restore everything needed for exact resume.
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "imagine/core/checkpoint.h"
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

// Builds the job for config.kind.
std::unique_ptr<Job> make_job(const Config& config);

}  // namespace imagine::train
