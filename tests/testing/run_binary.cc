#include "tests/testing/run_binary.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace imagine::testing {

CommandResult run_imagine(const std::string& binary, const std::string& args) {
  static int counter = 0;
  const std::string base = std::filesystem::temp_directory_path().string() + "/imagine_cli_" +
                           std::to_string(::getpid()) + "_" + std::to_string(counter++);
  const std::string command = binary + " " + args + " >" + base + ".out 2>" + base + ".err </dev/null";
  const int status = std::system(command.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::filesystem::remove(path);
    return ss.str();
  };
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  return r;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<nlohmann::json> metrics_without_time(const std::string& run_dir) {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_file(run_dir + "/metrics.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    j.erase("wall_time");
    out.push_back(j);
  }
  return out;
}

}  // namespace imagine::testing
