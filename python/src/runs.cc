// Runs for Python: train (the `imagine train` command's own code, run in process), and a
// loaded run directory that acts, evaluates and hands out its world model. Loading follows
// `imagine eval` step by step (config, job, checkpoint), so run.evaluate() returns what the
// command prints for the same seed; the world model comes from train::load_world_model, as
// every other user of a trained model gets it.
#include <ATen/core/Generator.h>
#include <ATen/CPUGeneratorImpl.h>
#include <pybind11/stl.h>

#include <fmt/format.h>

#include <filesystem>
#include <mutex>
#include <optional>

#include "bindings.h"
#include "imagine/cli/common.h"
#include "imagine/core/checkpoint.h"
#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/core/run_dir.h"
#include "imagine/envs/registry.h"
#include "imagine/train/job.h"
#include "imagine/train/run_models.h"
#include "world_model.h"

namespace imagine::python {

namespace {

// A handle to LibTorch's default CPU generator (copies share the generator).
at::Generator cpu_generator() { return at::detail::getDefaultCPUGenerator(); }

// Restores LibTorch's default CPU generator on scope exit: loading, evaluating and training
// seed it as the command does, which must not change what the caller's torch draws next.
class TorchRngGuard {
 public:
  TorchRngGuard() : state_(cpu_generator().get_state()) {}
  ~TorchRngGuard() { cpu_generator().set_state(state_); }
  TorchRngGuard(const TorchRngGuard&) = delete;
  TorchRngGuard& operator=(const TorchRngGuard&) = delete;

 private:
  at::Tensor state_;
};

class Run {
 public:
  Run(const std::string& path, std::optional<int64_t> checkpoint)
      : path_(path), dir_(RunDir::open(path)), config_(cli::load_config({dir_.config_path()}, {})),
        checkpoint_(checkpoint) {
    if (checkpoint_) find_checkpoint(dir_.checkpoints_dir(), checkpoint_);  // names the steps there are
  }

  const std::string& path() const { return path_; }
  const train::Config& config() const { return config_; }
  // The step of the checkpoint the run acts and evaluates with (read from its file name
  // until the job is loaded, so that asking builds nothing).
  int64_t step() {
    if (job_) return step_;
    const auto path = find_checkpoint(dir_.checkpoints_dir(), checkpoint_);
    if (!path) throw UserError("run '" + path_ + "' has no checkpoint");
    const std::string name = std::filesystem::path(*path).filename().string();  // step-000000080.pt
    return std::stoll(name.substr(5, name.size() - 8));
  }

  // obs: [N, C, H, W] uint8; first: [N] bool (the observation starts an episode) -> [N] int64.
  at::Tensor act(const at::Tensor& obs, const at::Tensor& first) {
    train::Job& j = job();
    const envs::EnvSpec& s = spec();
    if (obs.dim() != 4 || obs.scalar_type() != at::kByte || obs.size(1) != s.channels || obs.size(2) != s.height ||
        obs.size(3) != s.width)
      throw UserError(fmt::format("observations must be uint8 [N, {}, {}, {}] ({}), got {} {}", s.channels, s.height,
                                  s.width, s.id, c10::toString(obs.scalar_type()), fmt::join(obs.sizes(), "x")));
    if (first.dim() != 1 || first.size(0) != obs.size(0) || first.scalar_type() != at::kBool)
      throw UserError(fmt::format("first must be {} booleans, one per observation", obs.size(0)));
    if (!policy_) policy_ = j.policy();
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mutex_);  // the policy's contexts are not safe to share
    return (*policy_)(obs.cpu().contiguous(), first.cpu().contiguous());
  }
  // A fresh policy: policies with memory (STORM's acting context) forget every episode.
  void reset_policy() { policy_.reset(); }

  std::vector<double> evaluate(int64_t episodes, uint64_t seed) {
    if (episodes < 1) throw UserError("episodes must be at least 1");
    train::Job& j = job();
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mutex_);
    ThreadsGuard threads;
    TorchRngGuard rng;
    cli::apply_runtime(config_);
    // The generator as `imagine eval` has it when it evaluates: right after loading.
    cpu_generator().set_state(loaded_rng_);
    return j.evaluate(episodes, seed);
  }

  // The world model of the run's newest checkpoint (train::load_world_model), on `device`
  // (default: the run's own). Loaded once per device.
  std::shared_ptr<WorldModelHandle> world_model(const std::optional<std::string>& device) {
    if (checkpoint_)
      throw UserError("the world model is loaded from the run's newest checkpoint; load the run without checkpoint=");
    const c10::Device where = parse_device(device ? *device : config_.device);
    if (world_model_ && world_model_->device() == where) return world_model_;
    ThreadsGuard threads;
    TorchRngGuard rng;
    cli::apply_runtime(config_);
    train::TrainedWorldModel trained;
    {
      py::gil_scoped_release release;
      trained = train::load_world_model(path_, where);
    }
    world_model_ = std::make_shared<WorldModelHandle>(std::move(trained.model), trained.spec, where, config::enum_name(config_.kind));
    return world_model_;
  }

  const envs::EnvSpec& spec() {
    if (!spec_) spec_ = envs::default_registry().make(config_.env)->spec();
    return *spec_;
  }

 private:
  // The job at the checkpoint, built on first use exactly as `imagine eval` builds it.
  train::Job& job() {
    if (job_) return *job_;
    if (!train::job_kind(config_.kind).plays_episodes)
      throw UserError("a '" + config::enum_name(config_.kind) + "' run plays no episodes: it has no policy to act or evaluate with " +
                      "(run.world_model is its model; `imagine eval` measures its held-out likelihood)");
    ThreadsGuard threads;
    TorchRngGuard rng;
    cli::apply_runtime(config_);
    auto job = train::make_job(config_);
    const auto checkpoint = find_checkpoint(dir_.checkpoints_dir(), checkpoint_);
    if (!checkpoint) throw UserError("run '" + path_ + "' has no checkpoint");
    step_ = load_checkpoint(*checkpoint, job->kind(),
                            [&](InputArchive& a, const nlohmann::json& meta) { job->load(a, meta); });
    loaded_rng_ = cpu_generator().get_state();
    job_ = std::move(job);
    return *job_;
  }

  std::string path_;
  RunDir dir_;
  train::Config config_;
  std::optional<int64_t> checkpoint_;
  std::optional<envs::EnvSpec> spec_;
  std::unique_ptr<train::Job> job_;
  int64_t step_ = 0;
  at::Tensor loaded_rng_;
  std::optional<train::Policy> policy_;
  std::shared_ptr<WorldModelHandle> world_model_;
  std::mutex mutex_;  // acting and evaluating release the GIL: one at a time per run
};

// `imagine train` with these arguments, run by the command's own code. Returns the run
// directory and the exit code the command would have (0, or 128 + signal after Ctrl-C etc.).
py::tuple train_command(const std::vector<std::string>& files, const Assignments& sets,
                        const std::optional<std::string>& run_dir, bool force, const std::optional<std::string>& resume,
                        const std::optional<int64_t>& stop_at) {
  std::vector<std::string> args = {"imagine", "train"};
  for (const auto& f : files) args.insert(args.end(), {"--config", f});
  for (const auto& s : sets) args.insert(args.end(), {"--set", s});
  // Where the run goes, passed on as the command takes it (so that the command, not this
  // function, refuses --resume with --run-dir).
  std::string path = resume ? *resume : run_dir.value_or("");
  if (path.empty()) {
    // The command's default, named here so that the caller learns where the run went:
    // runs/<name>-<time> with name = <kind>-<env id> (slashes replaced), as cmd_train.cc.
    const train::Config config = cli::load_config(files, sets);
    std::string name = config.name;
    if (name.empty()) {
      name = config::enum_name(config.kind) + "-" + config.env.id;
      for (char& c : name)
        if (c == '/') c = '-';
    }
    path = default_run_path(name);
  }
  if (resume) {
    args.insert(args.end(), {"--resume", *resume});
    if (run_dir) args.insert(args.end(), {"--run-dir", *run_dir});
  } else {
    args.insert(args.end(), {"--run-dir", path});
  }
  if (force) args.push_back("--force");
  if (stop_at) args.insert(args.end(), {"--stop-at", std::to_string(*stop_at)});

  CLI::App app;
  app.require_subcommand(1);
  cli::Globals g;
  for (size_t i = 0; i < args.size(); ++i) g.command_line += (i ? " " : "") + args[i];
  g.command_line = "imagine.train: " + g.command_line;  // the manifest's record of how the run started
  cli::add_train(app, g);
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  ThreadsGuard threads;
  TorchRngGuard rng;
  {
    py::gil_scoped_release release;
    app.parse(static_cast<int>(argv.size()), argv.data());
  }
  return py::make_tuple(path, g.exit_code);
}

}  // namespace

void bind_runs(py::module_& m) {
  py::class_<Run, std::shared_ptr<Run>>(m, "Run", "A run directory; use imagine.load")
      .def(py::init<const std::string&, std::optional<int64_t>>(), py::arg("path"), py::arg("checkpoint"))
      .def_property_readonly("path", &Run::path)
      .def_property_readonly("kind", [](const Run& r) { return config::enum_name(r.config().kind); })
      .def_property_readonly("config_toml", [](const Run& r) { auto c = r.config(); return config::to_toml(c, false); })
      .def_property_readonly("eval_episodes", [](const Run& r) { return r.config().eval_episodes; })
      .def_property_readonly("step", &Run::step, "the step of the loaded checkpoint (loads it)")
      .def_property_readonly("spec", [](Run& r) {
        const auto& s = r.spec();
        py::dict d;
        d["id"] = s.id;
        d["observation_shape"] = py::make_tuple(s.channels, s.height, s.width);
        d["num_actions"] = s.num_actions;
        return d;
      })
      .def("act", &Run::act, py::arg("obs"), py::arg("first"))
      .def("reset_policy", &Run::reset_policy)
      .def("evaluate", &Run::evaluate, py::arg("episodes"), py::arg("seed"))
      .def("world_model", &Run::world_model, py::arg("device") = py::none());

  m.def("train", &train_command, py::arg("files"), py::arg("sets"), py::arg("run_dir"), py::arg("force"),
        py::arg("resume"), py::arg("stop_at"), "`imagine train` in this process; returns (run directory, exit code)");
  m.def("checkpoint_steps", &checkpoint_steps, py::arg("dir"), "steps of the checkpoint files in dir, ascending");
}

}  // namespace imagine::python
