// imagine eval RUN on a kind = "env_model" run: held-out negative log-likelihood per frame
// (nats) and per dimension (bits), per predicted step and averaged, and reward accuracy.
// Latent classes report the negative ELBO, an upper bound on the NLL, and say so.
#include <torch/torch.h>

#include "imagine/cli/common.h"
#include "imagine/core/checkpoint.h"
#include "imagine/core/error.h"
#include "imagine/core/log.h"
#include "imagine/core/run_dir.h"
#include "imagine/train/env_model_job.h"

namespace imagine::cli {

namespace {
constexpr int64_t kEvalBatch = 32;
}

void eval_env_model_run(const Globals& g, const std::string& run, const train::Config& config, int64_t checkpoint_step,
                        int64_t sequences, uint64_t seed) {
  if (sequences < 1) throw UserError("--sequences must be at least 1");
  const RunDir dir = RunDir::open(run, /*lock=*/true);  // it appends to metrics.jsonl
  const auto path =
      find_checkpoint(dir.checkpoints_dir(), checkpoint_step >= 0 ? std::optional<int64_t>(checkpoint_step) : std::nullopt);
  if (!path) throw UserError("run '" + run + "' has no checkpoint");
  const std::string held = train::env_model_heldout_path(config);
  const auto heldout = train::load_env_model_dataset(held, "held-out dataset");
  int64_t step = 0;
  auto model = train::load_env_model(config, heldout, *path, &step);
  const auto& o = model->options();
  spdlog::info("evaluating {} ({}) at update {} on {} held-out sequences of {}", *path, o.label(), step,
               sequences, held);
  std::vector<models::ssm::SequenceBatch> batches;
  try {
    batches = train::sample_sequences(heldout, o, sequences, kEvalBatch, seed);
  } catch (const UserError& e) {
    throw UserError("held-out dataset '" + held + "': " + e.what());
  }
  const auto r = train::evaluate_env_model(model, batches, seed + 1);

  const std::string measure = r.upper_bound ? "negative ELBO (upper bound)" : "NLL";
  const std::string name = o.label();
  Table t{{"model", "update", "measure", "predicted step", "env steps ahead", "nats/frame", "bits/dim",
           "reward accuracy"},
          {}};
  for (size_t i = 0; i < r.nll_nats_per_step.size(); ++i) {
    const int64_t k = static_cast<int64_t>(i) + 1;
    t.rows.push_back({name, step, measure, k, k * o.jump, r.nll_nats_per_step[i], r.bits_per_dim_per_step[i],
                      nlohmann::json()});
  }
  t.rows.push_back({name, step, measure, "mean", "", r.nll_nats, r.bits_per_dim, r.reward_accuracy});
  t.print(g);

  std::map<std::string, double> scalars{{"eval/nll_nats", r.nll_nats},
                                        {"eval/bits_per_dim", r.bits_per_dim},
                                        {"eval/reward_accuracy", r.reward_accuracy},
                                        {"eval/upper_bound", r.upper_bound ? 1.0 : 0.0},
                                        {"eval/sequences", static_cast<double>(r.sequences)}};
  for (size_t i = 0; i < r.nll_nats_per_step.size(); ++i)
    scalars["eval/nll_nats_step" + std::to_string(i + 1)] = r.nll_nats_per_step[i];
  MetricsWriter metrics(dir.metrics_path());
  metrics.write(step, scalars);
}

}  // namespace imagine::cli
