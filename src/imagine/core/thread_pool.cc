#include "imagine/core/thread_pool.h"

#include <algorithm>
#include <chrono>

namespace imagine {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#else
  std::this_thread::yield();
#endif
}

// Spins until done() holds or the spin budget is spent; returns whether done() held.
// After a short pure spin it yields between checks: when threads outnumber free cores,
// the thread being waited for may need this core to finish.
template <class Done>
bool spin_until(Done&& done) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::microseconds(ThreadPool::kSpinMicroseconds);
  for (int64_t spins = 1;; ++spins) {
    if (done()) return true;
    if (spins < 256) cpu_relax();
    else std::this_thread::yield();
    if (spins % 64 == 0 && Clock::now() > deadline) return done();
  }
}

constexpr uint64_t kChunkBits = 32;
constexpr uint64_t kChunkMask = (uint64_t{1} << kChunkBits) - 1;

}  // namespace

ThreadPool::ThreadPool(int64_t num_threads) {
  for (int64_t i = 1; i < num_threads; ++i) workers_.emplace_back([this] { worker(); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  { std::lock_guard<std::mutex> lock(mutex_); }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::record_error(std::exception_ptr error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!error_) error_ = std::move(error);
}

void ThreadPool::work_on(uint64_t generation) {
  uint64_t word = claim_.load(std::memory_order_acquire);
  while (true) {
    if ((word >> kChunkBits) != (generation & (kChunkMask))) return;  // a newer generation
    const auto chunk = static_cast<int64_t>(word & kChunkMask);
    const int64_t chunks = chunks_.load(std::memory_order_relaxed);
    if (chunk >= chunks) return;
    if (!claim_.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel, std::memory_order_acquire))
      continue;
    // The claim succeeded, so run() of this generation is still waiting for this chunk:
    // task_, n_ and chunks_ are this generation's.
    const int64_t begin = n_ * chunk / chunks, end = n_ * (chunk + 1) / chunks;
    try {
      (*task_)(begin, end);
    } catch (...) {
      record_error(std::current_exception());
    }
    if (done_.fetch_add(1) + 1 == chunks && caller_sleeping_.load()) {
      { std::lock_guard<std::mutex> lock(mutex_); }
      done_cv_.notify_one();
    }
    word = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::run(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t parts = num_threads();
  if (parts == 1 || n <= 1) {
    fn(0, n);
    return;
  }
  const uint64_t generation = ((claim_.load(std::memory_order_relaxed) >> kChunkBits) + 1) & kChunkMask;
  task_ = &fn;
  n_ = n;
  const int64_t chunks = std::min(n, parts * kChunksPerThread);
  chunks_.store(chunks, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  claim_.store(generation << kChunkBits);  // seq_cst: publishes the task to workers
  if (sleeping_workers_.load() > 0) {
    // Taking the mutex orders this wake-up after a sleeper's predicate check.
    { std::lock_guard<std::mutex> lock(mutex_); }
    start_cv_.notify_all();
  }
  work_on(generation);
  const auto all_done = [&] { return done_.load(std::memory_order_acquire) == chunks; };
  if (!spin_until(all_done)) {
    std::unique_lock<std::mutex> lock(mutex_);
    caller_sleeping_.store(true);
    done_cv_.wait(lock, [&] { return done_.load() == chunks; });
    caller_sleeping_.store(false);
  }
  task_ = nullptr;
  if (error_) {
    std::exception_ptr error;
    std::swap(error, error_);
    std::rethrow_exception(error);
  }
}

void ThreadPool::worker() {
  uint64_t seen = 0;  // generations start at 1
  while (true) {
    const auto started = [&] {
      return (claim_.load(std::memory_order_acquire) >> kChunkBits) != seen || stop_.load(std::memory_order_relaxed);
    };
    if (!spin_until(started)) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleeping_workers_.fetch_add(1);
      start_cv_.wait(lock, [&] { return (claim_.load() >> kChunkBits) != seen || stop_.load(); });
      sleeping_workers_.fetch_sub(1);
    }
    if (stop_.load()) return;
    seen = claim_.load(std::memory_order_acquire) >> kChunkBits;
    work_on(seen);
  }
}

}  // namespace imagine
