#include "imagine/cli/app.h"

#include <c10/util/Exception.h>

#include <iostream>

#include "imagine/cli/common.h"
#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/core/log.h"

namespace imagine::cli {

int run(int argc, char** argv) {
  init_logging();
  CLI::App app{"imagine: learned world models for reinforcement learning (STORM, state-space models)"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every subcommand");
  Globals g;
  for (int i = 0; i < argc; ++i) g.command_line += (i ? " " : "") + std::string(argv[i]);
  app.add_option("--format", g.format, "results on stdout as markdown tables or JSON")
      ->check(CLI::IsMember({"md", "json"}))
      ->capture_default_str();
  add_version(app, g);
  add_config(app, g);
  add_train(app, g);
  add_eval(app, g);
  add_envs(app, g);
  add_bench(app, g);
  add_info(app, g);
  add_plot(app, g);
  add_collect(app, g);
  add_rollout(app, g);
  add_report(app, g);
  add_sweep(app, g);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const UserError& e) {
    std::cerr << "imagine: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    if (is_out_of_memory(e)) {  // sizes the user chose; say so in one line, not the allocator's text
      std::cerr << "imagine: error: out of memory: the configuration needs more memory than this machine has; "
                   "lower the sizes (replay.capacity, model widths, batch sizes) or --steps\n";
      return 2;
    }
    const auto* c10 = dynamic_cast<const c10::Error*>(&e);
    std::string what = c10 ? c10->what_without_backtrace() : e.what();
    std::cerr << "imagine: internal error: " << what.substr(0, what.find('\n')) << "\n";
    return 1;
  }
  return g.exit_code;
}

}  // namespace imagine::cli
