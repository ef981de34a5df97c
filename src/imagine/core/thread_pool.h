#pragma once
// A fixed pool of worker threads for synchronous data-parallel loops (the vector env).
// run(n, fn) calls fn(i) for i in [0, n) split into contiguous chunks, one per thread,
// and returns when all are done. The calling thread does the first chunk itself.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace imagine {

class ThreadPool {
 public:
  explicit ThreadPool(int64_t num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int64_t num_threads() const { return static_cast<int64_t>(workers_.size()) + 1; }
  // fn(begin, end) is called once per chunk.
  void run(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker(int64_t index);
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_cv_, done_cv_;
  const std::function<void(int64_t, int64_t)>* task_ = nullptr;
  int64_t n_ = 0;
  uint64_t generation_ = 0;
  int64_t pending_ = 0;
  bool stop_ = false;
};

}  // namespace imagine
