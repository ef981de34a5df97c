#pragma once
// Ids of environments and their factories. Registration is explicit
// (register_builtin_envs), never by static initialisers.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "imagine/envs/env.h"
#include "imagine/envs/env_options.h"

namespace imagine::envs {

struct EnvEntry {
  std::string id;
  std::string description;
  // Option keys (besides the common ones) that this id reads.
  std::vector<std::string> options;
  std::function<EnvPtr(const EnvOptions&)> make;
};

class EnvRegistry {
 public:
  void add(EnvEntry entry);
  // Builds the env for options.id with the common wrappers applied (time limit, sticky
  // actions where the game does not own them). Unknown ids raise UserError listing the ids.
  EnvPtr make(const EnvOptions& options) const;
  const EnvEntry& entry(const std::string& id) const;
  std::vector<std::string> ids() const;

 private:
  std::map<std::string, EnvEntry> entries_;
};

// Adds minatar/*, minipacman/* and (always, with an explanatory error when ALE is not
// compiled in) atari/*.
void register_builtin_envs(EnvRegistry& registry);

// The registry with every built-in id registered.
const EnvRegistry& default_registry();

}  // namespace imagine::envs
