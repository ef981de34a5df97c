// Seeded config mutations of every preset through `imagine config check` and `imagine info`,
// in process (the same `cli::run` that main() calls): a mutated config is either accepted
// (exit 0) or rejected with a one-line error (exit 2), never an internal error or a crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "imagine/cli/app.h"
#include "imagine/core/config.h"
#include "imagine/core/rng.h"
#include "imagine/train/config.h"

namespace fs = std::filesystem;

namespace imagine {
namespace {

int run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "imagine");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return cli::run(static_cast<int>(argv.size()), argv.data());
}

std::string describe(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += " '" + a + "'";
  return s;
}

std::vector<std::string> presets() {
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(std::string(IMAGINE_SOURCE_DIR) + "/configs"))
    if (entry.path().extension() == ".toml") out.push_back(entry.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Values of every kind a careless edit produces: wrong types, signs, sizes, non-finite floats.
const std::vector<std::string> kValues = {
    "-1", "0", "1", "2", "3", "7", "64", "1000000000", "-1000000000", "9223372036854775807", "0.5", "-0.5",
    "1e-300", "1e300", "nan", "inf", "-inf", "true", "false", "\"\"", "\"x\"", "\"cuda:99\"", "\"minatar/pong\"",
    "[]", "[0]", "[-1]", "[1, 2, 3]", "[1e9]", "{a = 1}"};

// Text edits of a file: a line dropped or repeated, a character replaced.
std::string mutate_text(const std::string& text, Rng& rng) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  if (lines.empty()) return text;
  const auto i = static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(lines.size()) - 1));
  switch (rng.uniform_int(0, 2)) {
    case 0: lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(i)); break;
    case 1: lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(i), lines[i]); break;
    default:
      if (!lines[i].empty()) {
        static const std::string kChars = "=[]\"'.#0123456789-azAZ \t\\{},";
        lines[i][static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(lines[i].size()) - 1))] =
            kChars[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(kChars.size()) - 1))];
      }
  }
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

TEST(ConfigFuzzTest, MutatedPresetsAreAcceptedOrRejectedInOneLine) {
  const std::string dir = ::testing::TempDir() + "/imagine_config_fuzz";
  fs::remove_all(dir);
  fs::create_directories(dir);
  constexpr int kTrialsPerPreset = 200;
  int accepted = 0, rejected = 0;
  for (const auto& preset : presets()) {
    train::Config config = config::read<train::Config>(config::Document::parse(preset, {}));
    std::vector<std::string> keys;
    for (const auto& [key, value] : config::flatten(config)) keys.push_back(key);
    std::ifstream in(preset);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Rng rng(std::hash<std::string>{}(fs::path(preset).filename().string()));
    // Environment models read a dataset: give them a small one from their own environment.
    std::vector<std::string> base;
    if (config.kind == train::Kind::kEnvModel) {
      const std::string data = dir + "/" + fs::path(preset).stem().string() + ".replay";
      std::vector<std::string> collect = {"collect", config.env.id, "--steps", "64", "--envs", "2", "--out", data, "--force"};
      for (const auto& [key, value] : config::flatten(config.env)) {
        collect.push_back("--set");
        collect.push_back("env." + key + "=" + value);
      }
      ASSERT_EQ(run_cli(collect), 0) << describe(collect);
      base = {"--set", "env_model.dataset=" + data};
    }
    for (int trial = 0; trial < kTrialsPerPreset; ++trial) {
      std::vector<std::string> args;
      if (trial % 4 == 3) {  // an edited file
        const std::string file = dir + "/mutated.toml";
        std::ofstream(file) << mutate_text(text, rng);
        args = {"config", "check", file};
        args.insert(args.end(), base.begin(), base.end());
      } else {
        args = {"config", "check", preset};
        args.insert(args.end(), base.begin(), base.end());
        const int64_t edits = rng.uniform_int(1, 3);
        for (int64_t e = 0; e < edits; ++e) {
          const auto& key = keys[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(keys.size()) - 1))];
          const auto& value = kValues[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(kValues.size()) - 1))];
          args.push_back("--set");
          args.push_back(key + "=" + value);
        }
      }
      const int check = run_cli(args);
      ASSERT_TRUE(check == 0 || check == 2) << "exit " << check << " for" << describe(args);
      (check == 0 ? accepted : rejected) += 1;
      // `info` builds every module of an accepted config; a rejected one must be rejected again.
      std::vector<std::string> info = {"info", "--config", args[2]};
      info.insert(info.end(), args.begin() + 3, args.end());
      const int built = run_cli(info);
      ASSERT_TRUE(built == 0 || built == 2) << "exit " << built << " for" << describe(info);
      if (check == 2) {
        EXPECT_EQ(built, 2) << "info accepted what config check rejected:" << describe(info);
      }
    }
  }
  std::printf("config fuzz: %d mutations accepted, %d rejected\n", accepted, rejected);
  EXPECT_GT(accepted, 0);
  EXPECT_GT(rejected, 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace imagine
