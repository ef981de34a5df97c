// libFuzzer target: the config parser. The input is a TOML file, or (when it starts with
// "--set\n") one `--set` override per line. Bad input must raise UserError, nothing else.
#include <sstream>
#include <string>
#include <vector>

#include "imagine/core/config.h"
#include "imagine/core/error.h"
#include "imagine/train/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imagine;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const std::string prefix = "--set\n";
    if (text.rfind(prefix, 0) == 0) {
      std::vector<std::string> sets;
      std::istringstream in(text.substr(prefix.size()));
      for (std::string line; std::getline(in, line);) sets.push_back(line);
      train::Config c = config::read<train::Config>(config::Document::parse(std::string(), sets));
      config::to_toml(c);
    } else {
      train::Config c = config::read<train::Config>(config::Document::parse_string(text, "fuzz.toml"));
      config::to_toml(c);
    }
  } catch (const UserError&) {
  }
  return 0;
}
