#pragma once
// The models of a trained run, loaded from its directory alone: its newest checkpoint, which
// records the run's resolved config and the spec of the environment it was trained on. No
// dataset, no config file, no environment (an Atari run's model loads without its ROM).
#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "imagine/envs/env.h"
#include "imagine/models/world_model.h"
#include "imagine/train/config.h"

namespace imagine::train {

struct TrainedWorldModel {
  std::shared_ptr<models::WorldModel> model;  // in eval mode, on the requested device
  Config config;                              // the run's resolved config
  envs::EnvSpec spec;                         // the environment it was trained on
  std::string checkpoint;
  int64_t step = 0;                           // the checkpoint's step
};

// What every checkpoint of a run records about it (the checkpoint meta's "run" entry): the
// resolved config as TOML and the environment's spec.
nlohmann::json describe_run(Config config, const envs::EnvSpec& spec);

// Raises UserError (one line) when `run_dir` is not a run, has no checkpoint, or its kind has
// no world model (e.g. an a2c run). Checkpoints written before they described their run are
// read with the run's config.toml and its environment.
TrainedWorldModel load_world_model(const std::string& run_dir, c10::Device device = c10::kCPU);

// Raises UserError unless the model was trained on observations of `spec`'s shape and its
// action count; `user` names who wants it in the message (e.g. "i2a.world_model").
void check_world_model_fits(const TrainedWorldModel& trained, const envs::EnvSpec& spec, const std::string& user);

}  // namespace imagine::train
