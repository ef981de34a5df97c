#pragma once
// A run's world model behind the contract of models/world_model.h, for Python: inputs are
// checked here (shapes, dtypes, action range, which model made a state) so that a mistake is a
// Python exception naming it, never a failure deep inside a model.
#include <memory>
#include <mutex>

#include "bindings.h"
#include "imagine/envs/env.h"
#include "imagine/models/world_model.h"

namespace imagine::python {

class WorldModelHandle;

// A batch of states; belongs to the model that made it.
struct StateHandle {
  models::WorldStatePtr state;
  const WorldModelHandle* owner = nullptr;
};

class WorldModelHandle {
 public:
  // frame: the environment's observation shape (C, H, W), what observe() takes.
  WorldModelHandle(std::shared_ptr<models::WorldModel> model, const envs::EnvSpec& frame, c10::Device device,
                   std::string kind);

  // obs [B, L, C, H, W] uint8; action [B, L] int64 and first [B, L] bool, or undefined.
  StateHandle observe(const at::Tensor& obs, const at::Tensor& action, const at::Tensor& first) const;
  // action [B] int64 or [B, jump * num_actions] float -> (state, reward [B], continues [B]).
  py::tuple step(const StateHandle& state, const at::Tensor& action) const;
  StateHandle branch(const StateHandle& state, int64_t k) const;
  at::Tensor features(const StateHandle& state) const;
  at::Tensor feature_map(const StateHandle& state) const;
  at::Tensor decode(const StateHandle& state) const;

  models::WorldModel& model() const { return *model_; }
  const envs::EnvSpec& frame() const { return frame_; }
  c10::Device device() const { return device_; }
  const std::string& kind() const { return kind_; }

 private:
  const models::WorldStatePtr& own(const StateHandle& state) const;
  std::shared_ptr<models::WorldModel> model_;
  envs::EnvSpec frame_;
  c10::Device device_;
  std::string kind_;
  // Calls release the GIL; one at a time per model (steps may write a shared KV cache in place).
  mutable std::mutex mutex_;
};

}  // namespace imagine::python
