#pragma once
// Pieces of kind = "env_model" shared with the CLI (`imagine eval`, `imagine rollout`):
// dataset loading with its checks, the model options a run resolves, a fixed set of
// held-out sequences and their evaluation, and loading a trained model from a checkpoint.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "imagine/core/checkpoint.h"
#include "imagine/data/replay_buffer.h"
#include "imagine/envs/env.h"
#include "imagine/models/ssm/env_model.h"
#include "imagine/models/ssm/evaluation.h"
#include "imagine/models/world_model.h"
#include "imagine/train/config.h"

namespace imagine::train {

// Loads a dataset file; raises UserError when the path is empty (saying how to make one),
// missing, or its frames are not RGB squares with a side divisible by 8. `what` names the
// file in messages ("dataset", "held-out dataset").
data::ReplayBuffer load_env_model_dataset(const std::string& path, const std::string& what);

// The env_model job's own checks of a config (datasets exist, model options fit the
// environment's frames); see validate().
void validate_env_model(const Config& config, const envs::EnvSpec& spec);

// Raises UserError when the dataset records another environment than config.env.
void check_dataset_source(const Config& config, const data::ReplayBuffer& dataset, const std::string& path);

// The held-out file of a config: env_model.heldout, or the dataset's companion.
std::string env_model_heldout_path(const Config& config);

// config.env_model completed with the frame shape of `dataset` and the action count of
// config.env; raises UserError when the dataset's frames do not match the environment.
models::ssm::EnvModelOptions resolve_env_model_options(const Config& config, const data::ReplayBuffer& dataset);
// The same from config.env alone (a trained run needs no dataset to rebuild its model), or from
// the spec of the environment it was trained on.
models::ssm::EnvModelOptions resolve_env_model_options(const Config& config);
models::ssm::EnvModelOptions resolve_env_model_options(const Config& config, const envs::EnvSpec& spec);

// The model of an env_model checkpoint's archive behind the world-model contract.
std::shared_ptr<models::WorldModel> env_model_world_model(const Config& config, const envs::EnvSpec& spec,
                                                          InputArchive& archive);

// `count` sequences (context + horizon model frames, jumpy-subsampled) drawn within episodes
// from `dataset` with a generator seeded by `seed`, in batches of at most `batch`.
std::vector<models::ssm::SequenceBatch> sample_sequences(const data::ReplayBuffer& dataset,
                                                         const models::ssm::EnvModelOptions& options, int64_t count,
                                                         int64_t batch, uint64_t seed);

// Evaluates `model` on `sequences` (moved to the model's device) without gradients. Latent
// samples use LibTorch's default generator seeded with `noise_seed`; its previous state is
// restored afterwards, so an evaluation never perturbs training.
models::ssm::EvalReport evaluate_env_model(models::ssm::EnvModel& model,
                                           const std::vector<models::ssm::SequenceBatch>& sequences,
                                           uint64_t noise_seed);

// The model of an env_model checkpoint (options resolved from `dataset`), in eval mode on
// config.device. Returns the checkpoint's step in *step when given.
models::ssm::EnvModel load_env_model(const Config& config, const data::ReplayBuffer& dataset,
                                     const std::string& checkpoint_path, int64_t* step = nullptr);

}  // namespace imagine::train
