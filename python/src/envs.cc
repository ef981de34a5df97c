// Environments for Python: the C++ VectorEnv (its preallocated batch tensors are what Python
// sees, through NumPy views or as torch tensors), one Env for imagine.make, the id listing,
// the library's random generator (to reproduce `imagine envs stats`), and the C++ rows of
// `imagine bench envs` for the Python benchmark to compare against.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <fmt/format.h>

#include <mutex>

#include "bindings.h"
#include "imagine/build_info.h"
#include "imagine/cli/bench_envs.h"
#include "imagine/cli/common.h"
#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/core/media.h"
#include "imagine/core/rng.h"
#include "imagine/envs/atari/roms.h"
#include "imagine/envs/registry.h"
#include "imagine/envs/vector_env.h"

namespace imagine::python {

namespace {

// [env] options from `--set env.key=value` assignments, checked as the command checks them
// (unknown keys, types, ranges, choices) with its messages.
envs::EnvOptions env_options(const Assignments& sets) { return cli::load_config({}, sets).env; }

py::dict spec_dict(const envs::EnvSpec& s) {
  py::dict d;
  d["id"] = s.id;
  d["observation_shape"] = py::make_tuple(s.channels, s.height, s.width);
  d["obs_scale"] = s.obs_scale;
  d["num_actions"] = s.num_actions;
  d["action_meanings"] = s.action_meanings;
  d["frame_skip"] = s.frame_skip;
  d["max_episode_steps"] = s.max_episode_steps;
  return d;
}

// actions: a 1-D C-contiguous int64 array of length n (the Python layer converts other
// inputs); every value in [0, num_actions). Raises imagine.Error naming the first bad one,
// before the environment sees anything.
const int64_t* checked_actions(const py::array& actions, int64_t n, int64_t num_actions) {
  if (!actions.dtype().is(py::dtype::of<int64_t>()) || actions.ndim() != 1 || actions.shape(0) != n ||
      !(actions.flags() & py::array::c_style))
    throw UserError(fmt::format("actions must be {} integers, one per environment", n));
  const auto* a = static_cast<const int64_t*>(actions.data());
  for (int64_t i = 0; i < n; ++i)
    if (a[i] < 0 || a[i] >= num_actions)
      throw UserError(fmt::format("action {} of environment {} is outside [0, {})", a[i], i, num_actions));
  return a;
}

// Raises UserError (a one-line imagine.Error) when num_envs environments of `options` cannot
// fit in memory, before building any: the batch holds two observations per env (obs and
// final_obs), and each game keeps a few KiB of state.
const envs::EnvOptions& checked_fits(const envs::EnvOptions& options, int64_t num_envs) {
  if (num_envs < 1) return options;  // VectorEnv's own check names the count
  const double obs = static_cast<double>(envs::default_registry().make(options)->spec().obs_size());
  check_fits_in_memory(static_cast<double>(num_envs) * (2 * obs + 4096), fmt::format("{} environments", num_envs),
                       "ask for fewer environments");
  return options;
}

// Calls release the GIL while C++ works, so Python threads may call into one object at once;
// each object serialises its own calls (its buffers and games are not safe to share).
class VecEnv {
 public:
  VecEnv(const Assignments& sets, int64_t num_envs, int64_t num_threads)
      : options_(env_options(sets)), env_(checked_fits(options_, num_envs), num_envs, num_threads),
        num_threads_(num_threads) {}

  void reset(uint64_t seed) {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mutex_);
    env_.reset(seed);
  }

  // Steps every env; returns how many episodes ended (and were reset) in this step.
  int64_t step(const py::array& actions) {
    const int64_t n = env_.num_envs();
    const int64_t* a = checked_actions(actions, n, env_.spec().num_actions);
    // The batch tensor views the caller's array: no copy (actions keeps it alive).
    const at::Tensor t = at::from_blob(const_cast<int64_t*>(a), {n}, at::kLong);
    int64_t ended = 0;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mutex_);
      const envs::StepResult& r = env_.step(t);
      const bool* terminated = r.terminated.data_ptr<bool>();
      const bool* truncated = r.truncated.data_ptr<bool>();
      for (int64_t i = 0; i < n; ++i) ended += terminated[i] | truncated[i];
    }
    return ended;
  }

  const envs::StepResult& result() const { return env_.step_result(); }
  const envs::VectorEnv& env() const { return env_; }
  const envs::EnvOptions& options() const { return options_; }
  int64_t num_threads() const { return num_threads_; }

 private:
  envs::EnvOptions options_;
  envs::VectorEnv env_;
  int64_t num_threads_;
  std::mutex mutex_;
};

// One environment, Gymnasium's Env semantics: no automatic reset; stepping an ended episode
// is an error instead of undefined behaviour in the game.
class SingleEnv {
 public:
  explicit SingleEnv(const Assignments& sets)
      : options_(env_options(sets)), env_(envs::default_registry().make(options_)) {
    const auto& s = env_->spec();
    obs_ = at::zeros({s.channels, s.height, s.width}, at::kByte);
  }

  void seed(uint64_t seed) {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mutex_);
    env_->seed(seed);
  }

  void reset() {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mutex_);
    env_->reset(obs_.data_ptr<uint8_t>());
    ended_ = false;
  }

  py::tuple step(int64_t action) {
    const int64_t n = env_->spec().num_actions;
    if (action < 0 || action >= n) throw UserError(fmt::format("action {} is outside [0, {})", action, n));
    envs::StepOutcome out;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mutex_);
      if (ended_) throw UserError("the episode has ended (or never started): call reset() before step()");
      out = env_->step(action, obs_.data_ptr<uint8_t>());
      ended_ = out.terminated || out.truncated;
    }
    return py::make_tuple(out.reward, out.terminated, out.truncated, out.life_lost);
  }

  const at::Tensor& obs() const { return obs_; }
  const envs::EnvSpec& spec() const { return env_->spec(); }
  const envs::EnvOptions& options() const { return options_; }

 private:
  envs::EnvOptions options_;
  envs::EnvPtr env_;
  at::Tensor obs_;  // [C, H, W] uint8, rewritten by reset and step
  bool ended_ = true;
  std::mutex mutex_;
};

// The rows `imagine envs list` shows: every id (one per Atari game), its options and, where
// the environment can be built here, its spec.
py::list list_envs() {
  py::list out;
  const auto& registry = envs::default_registry();
  const auto row = [&](const std::string& id, const std::string& description, const std::vector<std::string>& options,
                       bool buildable) {
    py::dict d;
    d["id"] = id;
    d["description"] = description;
    d["options"] = options;
    d["spec"] = py::none();
    if (buildable) {
      envs::EnvOptions o;
      o.id = id;
      try {
        d["spec"] = spec_dict(registry.make(o)->spec());
      } catch (const UserError&) {  // an Atari game without its ROM: listed without a spec
      }
    }
    out.append(d);
  };
  for (const auto& id : registry.ids()) {
    const auto& e = registry.entry(id);
    if (id == "atari/<game>") {
      for (const auto& game : envs::atari::known_games()) {
        std::string description = IMAGINE_HAVE_ALE ? "Atari 2600 through ALE" : "Atari 2600 through ALE (not compiled in)";
        if (envs::atari::is_atari_100k_game(game)) description += "; Atari 100k";
        row("atari/" + game, description, e.options, IMAGINE_HAVE_ALE && !envs::atari::rom_dir("").empty());
      }
      continue;
    }
    row(id, e.description, e.options, id.find('<') == std::string::npos);
  }
  return out;
}

// frames: [T, C, H, W] uint8 with C = 1 or 3 -> the library's frames (core/media.h).
std::vector<Frame> to_frames(const at::Tensor& frames) {
  if (frames.dim() != 4 || frames.scalar_type() != at::kByte || (frames.size(1) != 1 && frames.size(1) != 3) ||
      frames.size(0) < 1)
    throw UserError(fmt::format("frames must be uint8 [T >= 1, C = 1 or 3, H, W] pictures, got {} [{}]",
                                c10::toString(frames.scalar_type()), fmt::join(frames.sizes(), ", ")));
  const at::Tensor f = frames.cpu().contiguous();
  std::vector<Frame> out;
  const int64_t size = f.size(1) * f.size(2) * f.size(3);
  const uint8_t* p = f.data_ptr<uint8_t>();
  for (int64_t t = 0; t < f.size(0); ++t)
    out.push_back(Frame{f.size(1), f.size(2), f.size(3), std::vector<uint8_t>(p + t * size, p + (t + 1) * size)});
  return out;
}

}  // namespace

void bind_envs(py::module_& m) {
  py::class_<VecEnv>(m, "VectorEnv", "C++ VectorEnv; use imagine.make_vec")
      .def(py::init<const Assignments&, int64_t, int64_t>(), py::arg("sets"), py::arg("num_envs"),
           py::arg("num_threads"))
      .def("reset", &VecEnv::reset, py::arg("seed"))
      .def("step", &VecEnv::step, py::arg("actions"))
      .def_property_readonly("num_envs", [](const VecEnv& e) { return e.env().num_envs(); })
      .def_property_readonly("num_threads", &VecEnv::num_threads)
      .def_property_readonly("spec", [](const VecEnv& e) { return spec_dict(e.env().spec()); })
      .def_property_readonly("options_toml", [](VecEnv& e) { auto o = e.options(); return config::to_toml(o, false); })
      // The batch tensors, allocated once and rewritten by every reset and step.
      .def_property_readonly("obs", [](const VecEnv& e) { return e.result().obs; })
      .def_property_readonly("reward", [](const VecEnv& e) { return e.result().reward; })
      .def_property_readonly("terminated", [](const VecEnv& e) { return e.result().terminated; })
      .def_property_readonly("truncated", [](const VecEnv& e) { return e.result().truncated; })
      .def_property_readonly("life_lost", [](const VecEnv& e) { return e.result().life_lost; })
      .def_property_readonly("final_obs", [](const VecEnv& e) { return e.result().final_obs; })
      .def_property_readonly("episode_return", [](const VecEnv& e) { return e.result().episode_return; })
      .def_property_readonly("episode_length", [](const VecEnv& e) { return e.result().episode_length; });

  py::class_<SingleEnv>(m, "Env", "One C++ Env; use imagine.make")
      .def(py::init<const Assignments&>(), py::arg("sets"))
      .def("seed", &SingleEnv::seed, py::arg("seed"))
      .def("reset", &SingleEnv::reset)
      .def("step", &SingleEnv::step, py::arg("action"))
      .def_property_readonly("obs", &SingleEnv::obs)
      .def_property_readonly("spec", [](const SingleEnv& e) { return spec_dict(e.spec()); })
      .def_property_readonly("options_toml", [](SingleEnv& e) { auto o = e.options(); return config::to_toml(o, false); });

  m.def("list_envs", &list_envs, "every environment id with its description, options and spec");

  py::class_<Rng>(m, "Rng",
                  "The library's generator (xoshiro256**): the one `imagine envs stats` draws its random policy "
                  "from, so a Python loop can reproduce the command's numbers")
      .def(py::init<uint64_t>(), py::arg("seed"))
      .def("uniform_int", &Rng::uniform_int, py::arg("lo"), py::arg("hi"), "uniform integer in [lo, hi]")
      .def("uniform", &Rng::uniform, "uniform float in [0, 1)");

  m.def(
      "write_gif",
      [](const std::string& path, const at::Tensor& frames, int delay_cs, int64_t scale) {
        if (delay_cs < 1 || scale < 1 || scale > 16) throw UserError("delay must be at least 1 and scale in [1, 16]");
        write_gif(path, to_frames(frames), delay_cs, scale);
      },
      py::arg("path"), py::arg("frames"), py::arg("delay_cs"), py::arg("scale"));
  m.def(
      "write_png_strip",
      [](const std::string& path, const at::Tensor& frames, int64_t scale) {
        if (scale < 1 || scale > 16) throw UserError("scale must be in [1, 16]");
        write_png_strip(path, to_frames(frames), scale);
      },
      py::arg("path"), py::arg("frames"), py::arg("scale"));

  m.def(
      "bench_vector",
      [](const Assignments& sets, int64_t num_envs, int64_t threads, double seconds) {
        cli::EnvBenchOptions bench;
        bench.seconds = seconds;
        const envs::EnvOptions options = env_options(sets);
        py::gil_scoped_release release;
        return cli::measure_vector(options, num_envs, threads, bench).steps_per_s;
      },
      py::arg("sets"), py::arg("num_envs"), py::arg("threads"), py::arg("seconds"),
      "env steps/s of the C++ VectorEnv under a random policy, measured as `imagine bench envs` does");
}

}  // namespace imagine::python
