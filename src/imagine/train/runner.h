#pragma once
// Runs a job to its step budget: metrics every log_every steps, checkpoints every
// checkpoint_every steps and at the end (older ones pruned), progress on stderr, and stop
// signals (Ctrl-C, SIGTERM, SIGHUP: the first writes a checkpoint and stops cleanly, a second
// exits at once).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>

#include "imagine/core/run_dir.h"
#include "imagine/train/job.h"

namespace imagine::train {

struct RunnerOptions {
  int64_t steps = 0;
  int64_t checkpoint_every = 0;
  int64_t log_every = 0;
  int64_t checkpoint_keep = 0;        // newest checkpoints kept (0: all)
  int64_t checkpoint_keep_every = 0;  // also kept: steps that are multiples of this (0: none)
  // Stop (with a checkpoint) once this many steps are done, as if interrupted.
  std::optional<int64_t> stop_at;
  // Recorded as meta["run"] in every checkpoint (describe_run), so a checkpoint describes its run.
  nlohmann::json run_description;
};

enum class RunOutcome { kFinished, kStopped, kInterrupted };

RunOutcome run_job(Job& job, const RunDir& dir, MetricsWriter& metrics, const RunnerOptions& options);

// Restores the job from the newest checkpoint of `dir`; returns its step (0, with a warning,
// for a run that stopped before its first checkpoint).
int64_t resume_job(Job& job, const RunDir& dir);

}  // namespace imagine::train
