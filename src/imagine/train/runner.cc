#include "imagine/train/runner.h"

#include "imagine/core/error.h"
#include "imagine/core/finite.h"
#include "imagine/core/log.h"
#include "imagine/core/signals.h"

namespace imagine::train {

namespace {
std::string checkpoint(Job& job, const RunDir& dir, const RunnerOptions& options) {
  const std::string path = save_checkpoint(dir.checkpoints_dir(), job.step(), job.kind(),
                                           [&](OutputArchive& a, nlohmann::json& meta) {
                                             job.save(a, meta);
                                             if (!options.run_description.is_null()) meta["run"] = options.run_description;
                                           });
  prune_checkpoints(dir.checkpoints_dir(), options.checkpoint_keep, options.checkpoint_keep_every);
  spdlog::info("checkpoint {}", path);
  return path;
}
}  // namespace

RunOutcome run_job(Job& job, const RunDir& dir, MetricsWriter& metrics, const RunnerOptions& options) {
  StopSignals signals;
  Progress progress(job.kind(), options.steps, job.step());
  int64_t next_log = (job.step() / options.log_every + 1) * options.log_every;
  int64_t next_checkpoint = (job.step() / options.checkpoint_every + 1) * options.checkpoint_every;
  int64_t last_checkpoint = -1;
  try {
    while (job.step() < options.steps) {
      job.advance();
      const int64_t step = job.step();
      if (step >= next_log) {
        metrics.write(step, job.take_metrics());
        next_log = (step / options.log_every + 1) * options.log_every;
      }
      progress.update(step, job.progress_metric());
      if (step >= next_checkpoint) {
        checkpoint(job, dir, options);
        last_checkpoint = step;
        next_checkpoint = (step / options.checkpoint_every + 1) * options.checkpoint_every;
      }
      if (StopSignals::requested()) {
        progress.finish();
        spdlog::warn("{} at step {}: writing a checkpoint (send it again to quit at once)", StopSignals::signal_name(),
                     step);
        if (last_checkpoint != step) checkpoint(job, dir, options);
        return RunOutcome::kInterrupted;
      }
      if (options.stop_at && step >= *options.stop_at) {
        progress.finish();
        if (last_checkpoint != step) checkpoint(job, dir, options);
        spdlog::info("stopped at step {} as asked; continue with --resume {}", step, dir.path());
        return RunOutcome::kStopped;
      }
    }
  } catch (const DivergenceError& e) {
    progress.finish();
    const auto latest = find_checkpoint(dir.checkpoints_dir());
    throw DivergenceError(std::string(e.what()) +
                          (latest ? " (the latest checkpoint, " + *latest + ", is from before)" : ""));
  }
  progress.finish();
  if (last_checkpoint != job.step()) checkpoint(job, dir, options);
  return RunOutcome::kFinished;
}

int64_t resume_job(Job& job, const RunDir& dir) {
  const auto path = find_checkpoint(dir.checkpoints_dir());
  if (!path) {  // it stopped before its first checkpoint: start it again from its config
    spdlog::warn("run '{}' has no checkpoint: starting it from step 0", dir.path());
    return 0;
  }
  const int64_t step =
      load_checkpoint(*path, job.kind(), [&](InputArchive& a, const nlohmann::json& meta) { job.load(a, meta); });
  spdlog::info("resumed from {} at step {}", *path, step);
  return step;
}

}  // namespace imagine::train
