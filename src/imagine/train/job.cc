#include "imagine/train/job.h"

#include "imagine/core/error.h"

namespace imagine::train {

std::unique_ptr<Job> make_a2c_job(const Config& config);
std::unique_ptr<Job> make_storm_job(const Config& config);
std::unique_ptr<Job> make_env_model_job(const Config& config);

Policy Job::policy() { throw UserError("a '" + kind() + "' run has no acting policy"); }

std::unique_ptr<Job> make_job(const Config& config) {
  if (config.precision != "fp32" && config.kind != "storm")
    throw UserError("precision = \"" + config.precision + "\" is implemented for kind = \"storm\" only; use \"fp32\"");
  if (config.kind == "a2c") return make_a2c_job(config);
  if (config.kind == "storm") return make_storm_job(config);
  if (config.kind == "env_model") return make_env_model_job(config);
  throw UserError("kind '" + config.kind + "' is not available");
}

}  // namespace imagine::train
