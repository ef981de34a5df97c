#include "imagine/core/device.h"

#include <unistd.h>

#include <new>

#include <fmt/format.h>

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/optim/adam.h>
#include <torch/version.h>

#include "imagine/core/error.h"

namespace imagine {

int64_t host_memory_bytes() {
  return static_cast<int64_t>(::sysconf(_SC_PHYS_PAGES)) * static_cast<int64_t>(::sysconf(_SC_PAGE_SIZE));
}

void check_fits_in_memory(double bytes, const std::string& what, const std::string& advice) {
  const int64_t have = host_memory_bytes();
  if (bytes <= static_cast<double>(have)) return;
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  throw UserError(fmt::format("{} needs {:.1f} GiB but this machine has {:.1f} GiB of memory; {}", what,
                              bytes / kGiB, static_cast<double>(have) / kGiB, advice));
}

bool is_out_of_memory(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e)) return true;
  const std::string what = e.what();
  return what.find("can't allocate memory") != std::string::npos ||
         what.find("CUDA out of memory") != std::string::npos ||
         what.find("std::bad_alloc") != std::string::npos;
}


c10::Device parse_device(const std::string& name) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available())
      throw UserError("device '" + name + "' asked for, but CUDA is not available (this LibTorch has no CUDA, or no GPU is visible)");
    int index = 0;
    if (name.size() > 5) {
      try {
        size_t used = 0;
        index = std::stoi(name.substr(5), &used);
        if (used != name.size() - 5) throw std::invalid_argument(name);
      } catch (const std::exception&) {
        throw UserError("device '" + name + "' is malformed: expected cpu, cuda or cuda:N");
      }
    }
    if (index < 0 || index >= static_cast<int>(torch::cuda::device_count()))
      throw UserError("device '" + name + "' does not exist: " + std::to_string(torch::cuda::device_count()) +
                      " CUDA device(s) visible");
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw UserError("device '" + name + "' is not known: expected cpu, cuda or cuda:N");
}

void move_optimiser_state(torch::optim::Adam& optimiser, c10::Device device) {
  for (auto& entry : optimiser.state()) {
    auto& s = static_cast<torch::optim::AdamParamState&>(*entry.second);
    s.exp_avg(s.exp_avg().to(device));
    s.exp_avg_sq(s.exp_avg_sq().to(device));
    if (s.max_exp_avg_sq().defined()) s.max_exp_avg_sq(s.max_exp_avg_sq().to(device));
  }
}

namespace {

// LibTorch 2.4 replaced the per-device functions (set_cpu_enabled, set_autocast_gpu_dtype, ...)
// with ones that take the device type; Debian's 1.13 has only the former.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(c10::DeviceType t) { return at::autocast::is_autocast_enabled(t); }
void set_autocast_enabled(c10::DeviceType t, bool on) { at::autocast::set_autocast_enabled(t, on); }
c10::ScalarType autocast_dtype(c10::DeviceType t) { return at::autocast::get_autocast_dtype(t); }
void set_autocast_dtype(c10::DeviceType t, c10::ScalarType d) { at::autocast::set_autocast_dtype(t, d); }
#else
bool autocast_enabled(c10::DeviceType t) {
  return t == c10::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
}
void set_autocast_enabled(c10::DeviceType t, bool on) {
  t == c10::kCPU ? at::autocast::set_cpu_enabled(on) : at::autocast::set_enabled(on);
}
c10::ScalarType autocast_dtype(c10::DeviceType t) {
  return t == c10::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
}
void set_autocast_dtype(c10::DeviceType t, c10::ScalarType d) {
  t == c10::kCPU ? at::autocast::set_autocast_cpu_dtype(d) : at::autocast::set_autocast_gpu_dtype(d);
}
#endif

}  // namespace

Bf16Autocast::Bf16Autocast(c10::Device device, bool enabled) : active_(enabled), type_(device.type()) {
  if (!active_) return;
  if (type_ != c10::kCPU && type_ != c10::kCUDA)
    throw UserError(std::string("precision = \"bf16\" supports cpu and cuda devices, not ") + c10::DeviceTypeName(type_));
  was_enabled_ = autocast_enabled(type_);
  was_dtype_ = autocast_dtype(type_);
  set_autocast_enabled(type_, true);
  set_autocast_dtype(type_, c10::kBFloat16);
  at::autocast::increment_nesting();
}

Bf16Autocast::~Bf16Autocast() {
  if (!active_) return;
  // Autocast caches the bf16 copies of weights while nested; the outermost scope drops them.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast_enabled(type_, was_enabled_);
  set_autocast_dtype(type_, was_dtype_);
}

}  // namespace imagine
