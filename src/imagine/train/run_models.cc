#include "imagine/train/run_models.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include "imagine/core/checkpoint.h"
#include "imagine/core/config.h"
#include "imagine/core/error.h"
#include "imagine/core/run_dir.h"
#include "imagine/envs/registry.h"
#include "imagine/train/job.h"

namespace imagine::train {

TrainedWorldModel load_world_model(const std::string& run_dir, c10::Device device) {
  const RunDir dir = RunDir::open(run_dir);
  TrainedWorldModel out;
  out.config = config::read<Config>(config::Document::parse(dir.config_path(), {}));
  const JobKind& kind = job_kind(out.config.kind);
  if (!kind.world_model)
    throw UserError(fmt::format("run '{}' is a '{}' run, which has no world model; train one with kind = \"storm\" "
                                "or \"env_model\"",
                                run_dir, kind.name));
  const auto path = find_checkpoint(dir.checkpoints_dir());
  if (!path) throw UserError(fmt::format("run '{}' has no checkpoint yet", run_dir));
  out.checkpoint = *path;
  out.spec = envs::default_registry().make(out.config.env)->spec();
  out.step = load_checkpoint(*path, kind.name, [&](InputArchive& archive, const nlohmann::json&) {
    out.model = kind.world_model(out.config, archive);
  });
  out.model->to(device);
  out.model->eval();
  return out;
}

void check_world_model_fits(const TrainedWorldModel& trained, const envs::EnvSpec& spec, const std::string& user) {
  if (trained.spec.obs_shape() != spec.obs_shape() || trained.spec.num_actions != spec.num_actions)
    throw UserError(fmt::format("{}: the world model was trained on {} with observations [{}] and {} actions, but {} "
                                "gives [{}] and {} actions",
                                user, trained.spec.id, fmt::join(trained.spec.obs_shape(), ", "),
                                trained.spec.num_actions, spec.id, fmt::join(spec.obs_shape(), ", "), spec.num_actions));
}

}  // namespace imagine::train
