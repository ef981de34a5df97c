#include "imagine/envs/registry.h"

#include "imagine/core/error.h"
#include "imagine/envs/builtin/builtin.h"

namespace imagine::envs {

void EnvRegistry::add(EnvEntry entry) {
  const std::string id = entry.id;
  entries_[id] = std::move(entry);
}

const EnvEntry& EnvRegistry::entry(const std::string& id) const {
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    // A family entry "prefix/<game>" serves every id under prefix/ (e.g. atari/pong).
    const auto slash = id.find('/');
    if (slash != std::string::npos) {
      auto family = entries_.find(id.substr(0, slash) + "/<game>");
      if (family != entries_.end()) return family->second;
    }
    std::string list;
    for (const auto& [known, e] : entries_) list += (list.empty() ? "" : ", ") + known;
    throw UserError("unknown environment id '" + id + "' (known ids: " + list + ")");
  }
  return it->second;
}

EnvPtr EnvRegistry::make(const EnvOptions& options) const { return entry(options.id).make(options); }

std::vector<std::string> EnvRegistry::ids() const {
  std::vector<std::string> out;
  for (const auto& [id, e] : entries_) out.push_back(id);
  return out;
}

void register_builtin_envs(EnvRegistry& registry) {
  register_minatar(registry);
  register_minipacman(registry);
  register_atari(registry);
}

const EnvRegistry& default_registry() {
  static const EnvRegistry registry = [] {
    EnvRegistry r;
    register_builtin_envs(r);
    return r;
  }();
  return registry;
}

}  // namespace imagine::envs
