#include "imagine/train/runner.h"

#include <unistd.h>

#include <atomic>
#include <csignal>

#include "imagine/core/error.h"
#include "imagine/core/log.h"

namespace imagine::train {

namespace {
std::atomic<int> g_interrupts{0};

void on_interrupt(int) {
  if (g_interrupts.fetch_add(1) >= 1) _exit(130);  // second Ctrl-C: leave at once
}

struct InterruptScope {
  InterruptScope() {
    g_interrupts = 0;
    previous_ = std::signal(SIGINT, on_interrupt);
  }
  ~InterruptScope() { std::signal(SIGINT, previous_); }
  void (*previous_)(int);
};

void checkpoint(Job& job, const RunDir& dir) {
  const std::string path = save_checkpoint(dir.checkpoints_dir(), job.step(), job.kind(),
                                           [&](OutputArchive& a, nlohmann::json& meta) { job.save(a, meta); });
  spdlog::info("checkpoint {}", path);
}
}  // namespace

RunOutcome run_job(Job& job, const RunDir& dir, MetricsWriter& metrics, const RunnerOptions& options) {
  InterruptScope interrupts;
  Progress progress(job.kind(), options.steps, job.step());
  int64_t next_log = (job.step() / options.log_every + 1) * options.log_every;
  int64_t next_checkpoint = (job.step() / options.checkpoint_every + 1) * options.checkpoint_every;
  int64_t last_checkpoint = -1;
  while (job.step() < options.steps) {
    job.advance();
    const int64_t step = job.step();
    if (step >= next_log) {
      metrics.write(step, job.take_metrics());
      next_log = (step / options.log_every + 1) * options.log_every;
    }
    progress.update(step, job.progress_metric());
    if (step >= next_checkpoint) {
      checkpoint(job, dir);
      last_checkpoint = step;
      next_checkpoint = (step / options.checkpoint_every + 1) * options.checkpoint_every;
    }
    if (g_interrupts > 0) {
      progress.finish();
      spdlog::warn("interrupted at step {}: writing a checkpoint (Ctrl-C again to quit at once)", step);
      if (last_checkpoint != step) checkpoint(job, dir);
      return RunOutcome::kInterrupted;
    }
    if (options.stop_at && step >= *options.stop_at) {
      progress.finish();
      if (last_checkpoint != step) checkpoint(job, dir);
      spdlog::info("stopped at step {} as asked; continue with --resume {}", step, dir.path());
      return RunOutcome::kStopped;
    }
  }
  progress.finish();
  if (last_checkpoint != job.step()) checkpoint(job, dir);
  return RunOutcome::kFinished;
}

int64_t resume_job(Job& job, const RunDir& dir) {
  const auto path = find_checkpoint(dir.checkpoints_dir());
  if (!path) throw UserError("run '" + dir.path() + "' has no checkpoint to resume from");
  const int64_t step =
      load_checkpoint(*path, job.kind(), [&](InputArchive& a, const nlohmann::json& meta) { job.load(a, meta); });
  spdlog::info("resumed from {} at step {}", *path, step);
  return step;
}

}  // namespace imagine::train
