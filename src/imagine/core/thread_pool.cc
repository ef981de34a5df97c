#include "imagine/core/thread_pool.h"

#include <exception>

namespace imagine {

ThreadPool::ThreadPool(int64_t num_threads) {
  for (int64_t i = 1; i < num_threads; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

static void chunk(int64_t n, int64_t parts, int64_t index, int64_t& begin, int64_t& end) {
  begin = n * index / parts;
  end = n * (index + 1) / parts;
}

void ThreadPool::run(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t parts = num_threads();
  if (parts == 1 || n <= 1) {
    fn(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = &fn;
    n_ = n;
    pending_ = parts - 1;
    ++generation_;
  }
  start_cv_.notify_all();
  int64_t begin, end;
  chunk(n, parts, 0, begin, end);
  std::exception_ptr error;
  try {
    fn(begin, end);
  } catch (...) {
    error = std::current_exception();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  done_cv_.wait(lock, [this] { return pending_ == 0; });
  task_ = nullptr;
  if (error) std::rethrow_exception(error);
}

void ThreadPool::worker(int64_t index) {
  uint64_t seen = 0;
  while (true) {
    const std::function<void(int64_t, int64_t)>* task;
    int64_t n;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      task = task_;
      n = n_;
    }
    int64_t begin, end;
    chunk(n, num_threads(), index, begin, end);
    (*task)(begin, end);  // env steps do not throw for valid actions; actions are checked before
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --pending_;
    }
    done_cv_.notify_one();
  }
}

}  // namespace imagine
