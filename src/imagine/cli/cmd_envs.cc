// imagine envs list|stats|record: the environments, their random-policy statistics, pictures.
#include <iostream>

#include "imagine/cli/common.h"
#include "imagine/core/error.h"
#include "imagine/envs/registry.h"

namespace imagine::cli {

void add_envs(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("envs", "list environments, random-policy statistics, recordings");
  cmd->require_subcommand(1);
  auto* list = cmd->add_subcommand("list", "ids, observation shapes, action counts, options");
  list->callback([&g] {
    Table t{{"id", "obs", "actions", "options", "description"}, {}};
    const auto& registry = envs::default_registry();
    for (const auto& id : registry.ids()) {
      const auto& e = registry.entry(id);
      std::string obs = "-", actions = "-";
      if (id.find('<') == std::string::npos) {
        envs::EnvOptions o;
        o.id = id;
        const auto env = registry.make(o);
        const auto& s = env->spec();
        obs = std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" + std::to_string(s.width);
        actions = std::to_string(s.num_actions);
      }
      std::string options;
      for (const auto& k : e.options) options += (options.empty() ? "" : ", ") + k;
      t.rows.push_back({id, obs, actions, options, e.description});
    }
    t.print(g);
  });
  for (const char* name : {"stats", "record"}) {
    auto* sub = cmd->add_subcommand(name, std::string(name) + " (not available yet)");
    sub->allow_extras();
    sub->callback([name] { throw UnavailableError(std::string("'imagine envs ") + name + "' is not available yet"); });
  }
}

}  // namespace imagine::cli
