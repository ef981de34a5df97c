#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>

namespace imagine::nn {

// Number of scalars in a module's parameters (its submodules' included).
inline int64_t parameter_count(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

// Appends "<prefix>/<child>" for each direct child of `module`, then "<prefix>" (their total),
// to `out`; returns the total.
inline int64_t append_parameter_counts(const torch::nn::Module& module, const std::string& prefix,
                                       std::vector<std::pair<std::string, int64_t>>& out) {
  int64_t total = 0;
  for (const auto& child : module.named_children()) {
    const int64_t n = parameter_count(*child.value());
    out.emplace_back(prefix + "/" + child.key(), n);
    total += n;
  }
  out.emplace_back(prefix, total);
  return total;
}

}  // namespace imagine::nn
