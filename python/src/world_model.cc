#include "world_model.h"

#include <pybind11/stl.h>

#include <fmt/format.h>

#include "imagine/core/error.h"

namespace imagine::python {

namespace {
std::string shape_text(const at::Tensor& t) {
  if (!t.defined()) return "None";
  return fmt::format("{} [{}]", c10::toString(t.scalar_type()), fmt::join(t.sizes(), ", "));
}
}  // namespace

WorldModelHandle::WorldModelHandle(std::shared_ptr<models::WorldModel> model, const envs::EnvSpec& frame,
                                   c10::Device device, std::string kind)
    : model_(std::move(model)), frame_(frame), device_(device), kind_(std::move(kind)) {}

const models::WorldStatePtr& WorldModelHandle::own(const StateHandle& state) const {
  if (state.owner != this || !state.state) throw UserError("this state was made by another world model");
  return state.state;
}

StateHandle WorldModelHandle::observe(const at::Tensor& obs, const at::Tensor& action, const at::Tensor& first) const {
  const int64_t c = frame_.channels, h = frame_.height, w = frame_.width, l = model_->context();
  if (obs.dim() != 5 || obs.scalar_type() != at::kByte || obs.size(2) != c || obs.size(3) != h || obs.size(4) != w ||
      obs.size(1) < l || obs.size(0) < 1)
    throw UserError(fmt::format("observe: obs must be uint8 [B, L >= {}, {}, {}, {}], got {}", l, c, h, w,
                                shape_text(obs)));
  const int64_t b = obs.size(0), len = obs.size(1);
  if (action.defined() && (action.dim() != 2 || action.size(0) != b || action.size(1) != len ||
                           action.scalar_type() != at::kLong))
    throw UserError(fmt::format("observe: action must be int64 [{}, {}] (the action taken at each frame), got {}", b,
                                len, shape_text(action)));
  if (action.defined() && action.numel() > 0 &&
      (action.min().item<int64_t>() < 0 || action.max().item<int64_t>() >= model_->num_actions()))
    throw UserError(fmt::format("observe: actions must be in [0, {})", model_->num_actions()));
  if (first.defined() &&
      (first.dim() != 2 || first.size(0) != b || first.size(1) != len || first.scalar_type() != at::kBool))
    throw UserError(fmt::format("observe: first must be bool [{}, {}], got {}", b, len, shape_text(first)));
  py::gil_scoped_release release;
  std::lock_guard<std::mutex> lock(mutex_);
  const auto to = [&](const at::Tensor& t) { return t.defined() ? t.to(device_) : t; };
  return {model_->observe(to(obs), to(action), to(first)), this};
}

py::tuple WorldModelHandle::step(const StateHandle& state, const at::Tensor& action) const {
  const auto& s = own(state);
  const int64_t b = s->batch(), n = model_->num_actions(), width = model_->jump() * n;
  if (!action.defined()) throw UserError("step: an action is needed");
  if (action.scalar_type() == at::kLong) {
    if (action.dim() != 1 || action.size(0) != b)
      throw UserError(fmt::format("step: action indices must be int64 [{}], got {}", b, shape_text(action)));
    if (action.min().item<int64_t>() < 0 || action.max().item<int64_t>() >= n)
      throw UserError(fmt::format("step: actions must be in [0, {})", n));
  } else if (!action.is_floating_point() || action.dim() != 2 || action.size(0) != b || action.size(1) != width) {
    throw UserError(fmt::format("step: action must be int64 [{}] indices or float [{}, {}] one-hots, got {}", b, b,
                                width, shape_text(action)));
  }
  models::WorldStep out;
  {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mutex_);
    out = model_->step(s, action.to(device_));
  }
  return py::make_tuple(StateHandle{out.state, this}, out.reward, out.continues);
}

StateHandle WorldModelHandle::branch(const StateHandle& state, int64_t k) const {
  const auto& s = own(state);
  if (k < 1) throw UserError(fmt::format("branch: k must be at least 1, got {}", k));
  py::gil_scoped_release release;
  std::lock_guard<std::mutex> lock(mutex_);
  return {model_->branch(s, k), this};
}

at::Tensor WorldModelHandle::features(const StateHandle& state) const {
  const auto& s = own(state);
  py::gil_scoped_release release;
  std::lock_guard<std::mutex> lock(mutex_);
  return model_->features(s);
}

at::Tensor WorldModelHandle::feature_map(const StateHandle& state) const {
  const auto& s = own(state);
  py::gil_scoped_release release;
  std::lock_guard<std::mutex> lock(mutex_);
  return model_->feature_map(s);
}

at::Tensor WorldModelHandle::decode(const StateHandle& state) const {
  const auto& s = own(state);
  py::gil_scoped_release release;
  std::lock_guard<std::mutex> lock(mutex_);
  return model_->decode(s);
}

void bind_world_model(py::module_& m) {
  py::class_<StateHandle>(m, "WorldState", "a batch of world-model states (immutable)")
      .def_property_readonly("batch", [](const StateHandle& s) { return s.state ? s.state->batch() : 0; });
  py::class_<WorldModelHandle, std::shared_ptr<WorldModelHandle>>(m, "WorldModel", "use run.world_model")
      .def(
          "observe",
          [](const WorldModelHandle& w, const at::Tensor& obs, const std::optional<at::Tensor>& action,
             const std::optional<at::Tensor>& first) {
            return w.observe(obs, action.value_or(at::Tensor()), first.value_or(at::Tensor()));
          },
          py::arg("obs"), py::arg("action") = py::none(), py::arg("first") = py::none())
      .def("step", &WorldModelHandle::step, py::arg("state"), py::arg("action"))
      .def("branch", &WorldModelHandle::branch, py::arg("state"), py::arg("k"))
      .def("features", &WorldModelHandle::features, py::arg("state"))
      .def("feature_map", &WorldModelHandle::feature_map, py::arg("state"))
      .def("decode", &WorldModelHandle::decode, py::arg("state"))
      .def_property_readonly("feature_dim", [](const WorldModelHandle& w) { return w.model().feature_dim(); })
      .def_property_readonly("num_actions", [](const WorldModelHandle& w) { return w.model().num_actions(); })
      .def_property_readonly("jump", [](const WorldModelHandle& w) { return w.model().jump(); })
      .def_property_readonly("context", [](const WorldModelHandle& w) { return w.model().context(); })
      .def_property_readonly("kind", &WorldModelHandle::kind)
      .def_property_readonly("device", [](const WorldModelHandle& w) { return w.device().str(); })
      .def_property_readonly("observation_shape", [](const WorldModelHandle& w) {
        return py::make_tuple(w.frame().channels, w.frame().height, w.frame().width);
      });
}

}  // namespace imagine::python
