#pragma once
// Error types. A UserError is bad input (config, path, id, file): the CLI prints its
// one-line message and exits with code 2. Everything else is a bug or a resource failure.
#include <stdexcept>
#include <string>

namespace imagine {

class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& message) : std::runtime_error(message) {}
};

// Raised when a feature exists in the interface but is not compiled in or not built yet.
class UnavailableError : public UserError {
 public:
  using UserError::UserError;
};

}  // namespace imagine
