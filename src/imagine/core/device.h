#pragma once
// The compute device is a run-time option: "cpu", "cuda" or "cuda:N".
#include <c10/core/Device.h>

#include <string>

namespace imagine {

// Raises UserError for a malformed name or a CUDA device this build or machine lacks.
c10::Device parse_device(const std::string& name);

}  // namespace imagine
