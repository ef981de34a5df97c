#include "imagine/cli/app.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "imagine/core/error.h"

namespace imagine::cli {

int run(int argc, char** argv) {
  CLI::App app{"imagine: world models for reinforcement learning"};
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const UserError& e) {
    std::cerr << "imagine: error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace imagine::cli
