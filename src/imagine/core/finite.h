#pragma once
// Divergence guard. A non-finite loss, gradient or parameter ends the run before anything
// non-finite reaches a checkpoint or a metric: it is the user's to fix (learning rate, Adam's
// eps, clipping), so it is a UserError (exit 2) with that advice.
#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "imagine/core/error.h"

namespace imagine {

class DivergenceError : public UserError {
 public:
  using UserError::UserError;
};

// Raises DivergenceError naming `what`, the step and every non-finite value if any of the
// scalar tensors is NaN or infinite. One host synchronisation, on any device.
void check_finite(const std::string& what, int64_t step,
                  const std::vector<std::pair<std::string, at::Tensor>>& values);

// The sum of the parameters' norms, a scalar tensor (no synchronisation): it is finite iff
// every parameter is.
at::Tensor parameters_norm(const std::vector<at::Tensor>& params);

}  // namespace imagine
