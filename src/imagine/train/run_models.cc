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

namespace {

nlohmann::json spec_to_json(const envs::EnvSpec& s) {
  return {{"id", s.id},
          {"channels", s.channels},
          {"height", s.height},
          {"width", s.width},
          {"obs_scale", s.obs_scale},
          {"num_actions", s.num_actions},
          {"action_meanings", s.action_meanings},
          {"frame_skip", s.frame_skip},
          {"max_episode_steps", s.max_episode_steps}};
}

envs::EnvSpec spec_from_json(const nlohmann::json& j) {
  envs::EnvSpec s;
  s.id = j.at("id").get<std::string>();
  s.channels = j.at("channels").get<int64_t>();
  s.height = j.at("height").get<int64_t>();
  s.width = j.at("width").get<int64_t>();
  s.obs_scale = j.at("obs_scale").get<float>();
  s.num_actions = j.at("num_actions").get<int64_t>();
  s.action_meanings = j.at("action_meanings").get<std::vector<std::string>>();
  s.frame_skip = j.at("frame_skip").get<int64_t>();
  s.max_episode_steps = j.at("max_episode_steps").get<int64_t>();
  return s;
}

}  // namespace

nlohmann::json describe_run(Config config, const envs::EnvSpec& spec) {
  return {{"config", config::to_toml(config, /*comments=*/false)}, {"env_spec", spec_to_json(spec)}};
}

TrainedWorldModel load_world_model(const std::string& run_dir, c10::Device device) {
  const RunDir dir = RunDir::open(run_dir);
  const auto path = find_checkpoint(dir.checkpoints_dir());
  if (!path) throw UserError(fmt::format("run '{}' has no checkpoint yet", run_dir));
  TrainedWorldModel out;
  out.checkpoint = *path;
  out.step = load_checkpoint(*path, "", [&](InputArchive& archive, const nlohmann::json& meta) {
    if (meta.contains("run")) {
      const nlohmann::json& run = meta.at("run");
      out.config = config::read<Config>(
          config::Document::parse_string(run.at("config").get<std::string>(), *path + " (its config)"));
      out.spec = spec_from_json(run.at("env_spec"));
    } else {
      out.config = config::read<Config>(config::Document::parse(dir.config_path(), {}));
      out.spec = envs::default_registry().make(out.config.env)->spec();
    }
    const JobKind& kind = job_kind(out.config.kind);
    if (!kind.world_model)
      throw UserError(fmt::format("run '{}' is a '{}' run, which has no world model; train one with kind = "
                                  "\"storm\" or \"env_model\"",
                                  run_dir, config::enum_name(kind.kind)));
    out.model = kind.world_model(out.config, out.spec, archive);
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
