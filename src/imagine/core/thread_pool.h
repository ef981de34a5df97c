#pragma once
// A fixed pool of worker threads for synchronous data-parallel loops (the vector env).
// run(n, fn) calls fn(begin, end) over contiguous chunks that cover [0, n) exactly once
// and returns when all are done. The calling thread works too.
//
// Tasks are short (a vector-env step is tens of microseconds), so two things matter:
// - Waking threads through a condition variable costs tens of microseconds each way, as
//   much as the work. Waiting threads spin for a short while (kSpinMicroseconds) before
//   they sleep; back-to-back run() calls never touch the mutex.
// - A thread can be descheduled (more threads than free cores). Chunks are therefore
//   claimed dynamically, several per thread, so that whoever runs does the work instead
//   of everyone waiting for a fixed share assigned to a thread that is not running.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace imagine {

class ThreadPool {
 public:
  // How long a waiting thread spins before it blocks.
  static constexpr int64_t kSpinMicroseconds = 50;
  // Chunks per thread in one run().
  static constexpr int64_t kChunksPerThread = 8;

  explicit ThreadPool(int64_t num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int64_t num_threads() const { return static_cast<int64_t>(workers_.size()) + 1; }
  // fn(begin, end) is called once per chunk, possibly concurrently. One caller at a time. An exception from any
  // chunk is rethrown here (the first one, after every chunk has finished).
  void run(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker();
  // Claims and runs chunks of generation `generation` until none is left.
  void work_on(uint64_t generation);
  void record_error(std::exception_ptr error);

  std::vector<std::thread> workers_;
  // The task of the current generation; written before claim_ announces the generation.
  const std::function<void(int64_t, int64_t)>* task_ = nullptr;
  int64_t n_ = 0;
  std::atomic<int64_t> chunks_{0};  // atomic: a late worker may read it as the next run sets it
  // (generation << 32) | next unclaimed chunk: claiming is one CAS that also proves the
  // generation is still current (so task_ is still valid for the claimer).
  std::atomic<uint64_t> claim_{0};
  std::atomic<int64_t> done_{0};  // chunks of the current generation finished
  // Sleepers announce themselves so that the other side knows to notify (and only then
  // takes the mutex); the seq_cst pairs (announce, then re-check) rule out lost wake-ups.
  std::atomic<int64_t> sleeping_workers_{0};
  std::atomic<bool> caller_sleeping_{false};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable start_cv_, done_cv_;
  std::exception_ptr error_;  // guarded by mutex_
};

}  // namespace imagine
