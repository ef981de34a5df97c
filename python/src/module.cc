// The _imagine extension: error translation and the parts bound by envs.cc, runs.cc and
// world_model.cc. Errors: what the command reports as bad input with exit code 2 (a
// UserError, a command-line parse error, running out of memory) raises imagine.Error, a
// ValueError, with the command's one-line message; a LibTorch check raises RuntimeError
// with its message without the C++ backtrace. Nothing reaches the interpreter as a crash.
#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <new>
#include <string>

#include "bindings.h"
#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/core/log.h"
#include "imagine/core/version.h"

namespace {

// The command's own wording (cli/app.cc) for allocation failures.
constexpr const char* kOutOfMemory =
    "out of memory: the configuration needs more memory than this machine has; lower the sizes "
    "(replay.capacity, model widths, batch sizes) or --steps";

// Python exception classes, created once and kept for the life of the interpreter (leaked on
// purpose: destroying them at exit, after the interpreter, would crash).
PyObject* g_error = nullptr;
PyObject* g_unavailable = nullptr;
PyObject* g_out_of_memory = nullptr;

}  // namespace

PYBIND11_MODULE(_imagine, m) {
  namespace py = pybind11;
  m.doc() = "Compiled part of the imagine package; use `import imagine`.";
  imagine::init_logging();

  g_error = PyErr_NewExceptionWithDoc(
      "imagine.Error",
      "Bad input, reported with the one-line message `imagine` prints before exiting with code 2.",
      PyExc_ValueError, nullptr);
  g_unavailable = PyErr_NewExceptionWithDoc(
      "imagine.UnavailableError", "A feature this build does not include (e.g. Atari without ALE).", g_error, nullptr);
  py::tuple oom_bases = py::make_tuple(py::handle(g_error), py::handle(PyExc_MemoryError));
  g_out_of_memory = PyErr_NewExceptionWithDoc(
      "imagine.OutOfMemoryError", "The sizes asked for need more memory than this machine has.", oom_bases.ptr(),
      nullptr);
  if (!g_error || !g_unavailable || !g_out_of_memory) throw py::error_already_set();
  m.attr("Error") = py::handle(g_error);
  m.attr("UnavailableError") = py::handle(g_unavailable);
  m.attr("OutOfMemoryError") = py::handle(g_out_of_memory);

  // Module-local, so it is tried before any translator another extension registered.
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const imagine::UnavailableError& e) {
      PyErr_SetString(g_unavailable, e.what());
    } catch (const imagine::UserError& e) {
      PyErr_SetString(g_error, e.what());
    } catch (const CLI::ParseError& e) {
      PyErr_SetString(g_error, e.what());
    } catch (const std::exception& e) {
      if (imagine::is_out_of_memory(e)) {
        PyErr_SetString(g_out_of_memory, kOutOfMemory);
        return;
      }
      const auto* c10 = dynamic_cast<const c10::Error*>(&e);
      if (!c10) throw;  // pybind11's own translation (std::exception -> RuntimeError, ...)
      const std::string what = c10->what_without_backtrace();
      PyErr_SetString(dynamic_cast<const c10::IndexError*>(&e) ? PyExc_IndexError : PyExc_RuntimeError, what.c_str());
    }
  });

  m.def(
      "version_info",
      [] {
        const auto v = imagine::version_info();
        py::dict d;
        d["version"] = v.version;
        d["git_revision"] = v.git_revision;
        d["libtorch"] = v.libtorch;
        d["ale"] = v.ale;
        d["ale_version"] = v.ale_version;
        return d;
      },
      "what this build is: version, git revision, LibTorch, whether the Atari backend is compiled in");
  imagine::python::bind_envs(m);
  imagine::python::bind_runs(m);
  imagine::python::bind_world_model(m);
}
