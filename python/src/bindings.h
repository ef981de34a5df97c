#pragma once
// The compiled half of the `imagine` Python package (python/imagine/ is the other half).
// Tensors cross as torch tensors through torch's own pybind11 caster (torch/extension.h):
// the same LibTorch is loaded by `import torch` and by this module, so nothing is copied.
#include <torch/extension.h>

#include <string>
#include <vector>

namespace imagine::python {

namespace py = pybind11;

// Each file binds its part of the module.
void bind_envs(py::module_& m);
void bind_runs(py::module_& m);
void bind_world_model(py::module_& m);

// Keyword options as `--set` assignments ("env.image_size=16"): the Python layer renders
// them, so a bad option is reported exactly as `imagine ... --set` reports it.
using Assignments = std::vector<std::string>;

// Restores LibTorch's intra-op thread count on scope exit: a call that runs the command's
// code applies the run's `threads`, but must not change the caller's torch session.
class ThreadsGuard {
 public:
  ThreadsGuard() : threads_(at::get_num_threads()) {}
  ~ThreadsGuard() { at::set_num_threads(threads_); }
  ThreadsGuard(const ThreadsGuard&) = delete;
  ThreadsGuard& operator=(const ThreadsGuard&) = delete;

 private:
  int threads_;
};

}  // namespace imagine::python
