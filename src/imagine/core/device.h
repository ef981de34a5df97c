#pragma once
// The compute device is a run-time option: "cpu", "cuda" or "cuda:N".
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <exception>
#include <string>

namespace torch::optim {
class Adam;
}  // namespace torch::optim

namespace imagine {

// Raises UserError for a malformed name or a CUDA device this build or machine lacks.
c10::Device parse_device(const std::string& name);

// Physical memory of this machine in bytes (what a run's buffers must fit in).
int64_t host_memory_bytes();

// Raises UserError when `bytes` for `what` exceed the machine's memory, naming both and `advice`.
void check_fits_in_memory(double bytes, const std::string& what, const std::string& advice);

// Whether an exception is an allocation failure (std::bad_alloc, LibTorch's CPU or CUDA
// allocator errors), which the CLI reports as one line instead of the allocator's text.
bool is_out_of_memory(const std::exception& e);

// Moves Adam's moment estimates to `device`. Optimiser::load creates them where the archive
// holds them (the CPU, see load_checkpoint), while the parameters live on the run's device.
void move_optimiser_state(torch::optim::Adam& optimiser, c10::Device device);

// Mixed precision for one scope (precision = "bf16"): inside it LibTorch's autocast runs matrix
// products and convolutions on `device`'s type in bfloat16, while parameters, optimiser state
// and the ops autocast keeps in fp32 stay fp32. Does nothing when `enabled` is false. Wrap
// forward passes and losses only: backward runs outside, in the dtypes the forward recorded.
class Bf16Autocast {
 public:
  Bf16Autocast(c10::Device device, bool enabled);
  ~Bf16Autocast();
  Bf16Autocast(const Bf16Autocast&) = delete;
  Bf16Autocast& operator=(const Bf16Autocast&) = delete;

 private:
  bool active_;
  c10::DeviceType type_;
  bool was_enabled_ = false;
  c10::ScalarType was_dtype_ = c10::ScalarType::Undefined;
};

}  // namespace imagine
