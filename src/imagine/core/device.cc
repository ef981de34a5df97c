#include "imagine/core/device.h"

#include <torch/cuda.h>

#include "imagine/core/error.h"

namespace imagine {

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

}  // namespace imagine
