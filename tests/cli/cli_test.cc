// End-to-end tests of the `imagine` binary: exit codes, error messages, run directories,
// exact resume.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>

#include "imagine/build_info.h"
#include "tests/testing/run_binary.h"

namespace fs = std::filesystem;

namespace imagine {

namespace {

using testing::read_file;
using testing::metrics_without_time;
testing::CommandResult imagine(const std::string& args) { return testing::run_imagine(IMAGINE_BINARY, args); }

std::string temp_path(const std::string& name) {
  const std::string p = ::testing::TempDir() + "/imagine_cli_test_" + name;
  fs::remove_all(p);
  return p;
}

// A seconds-long deterministic A2C job.
const std::string kTinyJob =
    "--set kind=a2c --set steps=960 --set log_every=160 --set checkpoint_every=320 --set eval_episodes=3 "
    "--set threads=1 --set a2c.num_envs=8 --set a2c.rollout=4 --set a2c.hidden=32";
}  // namespace

TEST(CliTest, VersionReportsBuildAndRuntime) {
  auto r = imagine("version");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("LibTorch"), std::string::npos);
  EXPECT_NE(r.out.find("BLAS"), std::string::npos);
  r = imagine("--format json version");
  ASSERT_EQ(r.exit_code, 0);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j.contains("cuda_available"));
  EXPECT_TRUE(j.contains("threads"));
  EXPECT_TRUE(j.contains("blas_core"));
  // The ALE version is named exactly when the Atari backend is compiled in ("0.12.1").
  ASSERT_TRUE(j.contains("ale_version"));
  EXPECT_EQ(j["ale"].get<bool>(), !j["ale_version"].get<std::string>().empty());
}

TEST(CliTest, BenchEnvsMeasuresNamedIds) {
  auto r = imagine("--format json bench envs --seconds 0.02 --vector-envs 8 --ids minatar/breakout");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows) {
    EXPECT_EQ(row["id"], "minatar/breakout");
    EXPECT_GT(row["steps_per_s"].get<double>(), 0);
    EXPECT_FALSE(row.contains("of_bare"));  // a column of Atari rows only
  }
}

// With ALE and the ROMs, an Atari id gets a bare-ALE row and a wrapper row with its share of
// the bare loop's speed; without ALE, naming one is a one-line error.
TEST(CliTest, BenchEnvsComparesTheAtariWrapperWithBareAle) {
  const char* roms = std::getenv("IMAGINE_ROM_DIR");
  auto r = imagine("--format json bench envs --seconds 0.1 --ids atari/pong");
  if (!IMAGINE_HAVE_ALE) {
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("no Atari backend"), std::string::npos) << r.err;
    return;
  }
  if (!roms) GTEST_SKIP() << "no Atari ROMs: set IMAGINE_ROM_DIR";
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["mode"], "bare ALE");
  EXPECT_EQ(rows[1]["mode"], "single");
  EXPECT_TRUE(rows[0]["of_bare"].is_null());
  const double ratio = rows[1]["of_bare"].get<double>();
  EXPECT_NEAR(ratio, rows[1]["steps_per_s"].get<double>() / rows[0]["steps_per_s"].get<double>(), 0.01);
  EXPECT_GT(ratio, 0.3);  // the wrapper does the same emulation plus the observation pipeline
  EXPECT_LT(ratio, 1.5);
}

TEST(CliTest, BenchStormTimesEachPartOfTheLoop) {
  const std::string tiny = std::string(IMAGINE_SOURCE_DIR) + "/configs/storm_tiny.toml";
  auto r = imagine("--format json bench storm --repeats 1 --config " + tiny);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[0]["part"], "world-model update");
  EXPECT_EQ(rows[1]["part"], "imagination");
  EXPECT_EQ(rows[2]["part"], "  of which: observe the context");
  EXPECT_EQ(rows[2]["shape"], "16 x 4");  // storm_tiny: imagination_batch x imagination_context
  EXPECT_EQ(rows[3]["part"], "  of which: rollout (policy and model steps)");
  EXPECT_EQ(rows[4]["part"], "actor-critic update");
  EXPECT_EQ(rows[5]["part"], "act + env step");
  EXPECT_GT(rows[2]["ms"].get<double>(), 0.0);
  EXPECT_GT(rows[3]["ms"].get<double>(), 0.0);
  double sum = 0;
  for (int i : {0, 1, 4, 5}) {
    EXPECT_GT(rows[i]["ms"].get<double>(), 0.0) << rows[i];
    sum += rows[i]["ms per env step"].get<double>();
  }
  // The total is the parts weighted by the loop's schedule (each rounded to 0.01 ms).
  EXPECT_NEAR(rows[6]["ms per env step"].get<double>(), sum, 0.03);
  r = imagine("bench storm --set kind=a2c");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("kind"), std::string::npos) << r.err;
}

// The paper-sized STORM on 64x64 RGB with 6 actions has exactly the reference's parameters.
TEST(CliTest, InfoCountsTheReferenceParametersAtTheAtariSizes) {
  const std::string atari = std::string(IMAGINE_SOURCE_DIR) + "/configs/storm_atari100k.toml";
  const auto r = imagine("--format json info --config " + atari +
                         " --set env.id=minatar/breakout --set env.obs=rgb --set env.image_size=64 "
                         "--set env.minimal_actions=false");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, int64_t> counts;
  for (const auto& row : nlohmann::json::parse(r.out)) counts[row["module"]] = row["parameters"];
  EXPECT_EQ(counts["world_model"], 16507011);
  EXPECT_EQ(counts["world_model/decoder"], 4884931);
  EXPECT_EQ(counts["actor_critic/actor"], 1053702);
  EXPECT_EQ(counts["actor_critic/critic"], 1181439);
}

// The Bernoulli likelihood is for binary planes; RGB frames keep squared error.
TEST(CliTest, BernoulliReconstructionNeedsBinaryObservations) {
  auto r = imagine("info --set world_model.reconstruction=bernoulli");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = imagine("info --set world_model.reconstruction=bernoulli --set env.obs=rgb");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("needs binary observations"), std::string::npos) << r.err;
}

TEST(CliTest, UnknownSubcommandOrFlagExitsTwo) {
  EXPECT_EQ(imagine("frobnicate").exit_code, 2);
  EXPECT_EQ(imagine("train --no-such-flag").exit_code, 2);
}

TEST(CliTest, DefaultsAreAValidConfig) {
  const auto r = imagine("config defaults");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string path = temp_path("defaults.toml");
  std::ofstream(path) << r.out;
  const auto check = imagine("config check " + path);
  EXPECT_EQ(check.exit_code, 0) << check.err;
  const auto env = imagine("config defaults env");
  ASSERT_EQ(env.exit_code, 0);
  EXPECT_EQ(env.out.rfind("\n[env]", 0), 0u) << env.out;
  EXPECT_EQ(imagine("config defaults nosuchsection").exit_code, 2);
}

TEST(CliTest, BadKeysTypesAndRangesExitTwoNamingTheKey) {
  const std::string path = temp_path("bad.toml");
  std::ofstream(path) << "seed = 3\n\n[env]\nimage_sise = 64\n";
  auto r = imagine("config check " + path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("env.image_sise"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(path + ":4:1"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;

  std::ofstream(path) << "[env]\nimage_size = \"big\"\n";
  r = imagine("config check " + path);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("must be an integer"), std::string::npos) << r.err;

  r = imagine("train --set env.image_size=3 --run-dir " + temp_path("never"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("env.image_size"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("out of range"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(temp_path("never"))) << "nothing may be written on bad input";

  r = imagine("train --set device=tpu --run-dir " + temp_path("never3"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("device 'tpu'"), std::string::npos) << r.err;

  r = imagine("train --set env.id=minatar/pong --run-dir " + temp_path("never2"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown environment id 'minatar/pong'"), std::string::npos) << r.err;
}

TEST(CliTest, TrainWritesRunDirectoryAndRefusesToOverwrite) {
  const std::string run = temp_path("run");
  auto r = imagine("train " + kTinyJob + " --run-dir " + run);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"config.toml", "manifest.json", "metrics.jsonl", "checkpoints/latest", "evaluation.json"})
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;
  const auto manifest = nlohmann::json::parse(read_file(run + "/manifest.json"));
  for (const char* k : {"version", "git_revision", "libtorch", "device", "seed", "command_line", "start_time"})
    EXPECT_TRUE(manifest.contains(k)) << k;
  EXPECT_NE(r.out.find("| minatar/breakout | 3 |"), std::string::npos) << r.out;

  r = imagine("train " + kTinyJob + " --run-dir " + run);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;

  r = imagine("--format json eval " + run + " --episodes 4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  EXPECT_EQ(rows[0]["episodes"], 4);
  EXPECT_EQ(rows[0]["returns"].size(), 4u);
}

// Ctrl-C (SIGINT) during training: a checkpoint is written, the exit code is 130 and the run
// continues from that checkpoint with --resume.
TEST(CliTest, InterruptWritesACheckpointThatResumes) {
  const std::string run = temp_path("interrupted");
  const std::string out = run + ".out", err = run + ".err";
  const std::string command = std::string("exec ") + IMAGINE_BINARY + " train " + kTinyJob +
                              " --set steps=1000000000 --run-dir " + run + " >" + out + " 2>" + err + " </dev/null";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until training has logged a metrics line (at most 60 s), then interrupt it.
  for (int i = 0; i < 600 && read_file(run + "/metrics.jsonl").empty(); ++i) usleep(100000);
  ASSERT_FALSE(read_file(run + "/metrics.jsonl").empty()) << read_file(err);
  kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << read_file(err);
  EXPECT_EQ(WEXITSTATUS(status), 130) << read_file(err);
  EXPECT_NE(read_file(err).find("SIGINT at step"), std::string::npos) << read_file(err);
  const std::string latest = read_file(run + "/checkpoints/latest");  // e.g. "step-000012345.pt"
  const auto digits = latest.find_first_of("0123456789");
  ASSERT_NE(digits, std::string::npos) << latest;
  const int64_t step = std::stoll(latest.substr(digits));
  ASSERT_GT(step, 0);
  auto r = imagine("train --resume " + run + " --set steps=" + std::to_string(step + 320));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("resumed from"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("| minatar/breakout | 3 |"), std::string::npos) << r.out;
  fs::remove(out);
  fs::remove(err);
}

TEST(CliTest, ResumedRunEqualsUninterruptedRun) {
  const std::string whole = temp_path("whole"), split = temp_path("split");
  auto r = imagine("train " + kTinyJob + " --run-dir " + whole);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 352 is not a multiple of log_every (160): the half-summed metrics travel in the checkpoint.
  for (const char* stop : {"320", "352"}) {
    fs::remove_all(split);
    r = imagine("train " + kTinyJob + " --run-dir " + split + " --stop-at " + stop);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(fs::exists(split + "/evaluation.json")) << "a stopped run is not finished";
    r = imagine("train --resume " + split);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto a = metrics_without_time(whole), b = metrics_without_time(split);
    ASSERT_FALSE(a.empty());
    EXPECT_EQ(a, b) << "stopped at " << stop;
    EXPECT_EQ(read_file(whole + "/evaluation.json"), read_file(split + "/evaluation.json"));
  }
}

TEST(CliTest, PlotWritesPngAndRejectsUnknownMetric) {
  const std::string run = temp_path("plotrun");
  ASSERT_EQ(imagine("train " + kTinyJob + " --run-dir " + run).exit_code, 0);
  const std::string png = temp_path("curve.png");
  auto r = imagine("plot " + run + " " + run + " --metric loss/value --out " + png);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string bytes = read_file(png);
  ASSERT_GT(bytes.size(), 8u);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
  r = imagine("plot " + run + " --metric no/such --out " + png);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no/such"), std::string::npos) << r.err;
}

TEST(CliTest, CorruptCheckpointIsAClearError) {
  const std::string run = temp_path("corrupt");
  ASSERT_EQ(imagine("train " + kTinyJob + " --run-dir " + run + " --stop-at 320").exit_code, 0);
  const std::string ckpt = run + "/checkpoints/step-000000320.pt";
  ASSERT_TRUE(fs::exists(ckpt));
  fs::resize_file(ckpt, 100);
  auto r = imagine("train --resume " + run);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("corrupt"), std::string::npos) << r.err;
  r = imagine("eval " + run);
  EXPECT_EQ(r.exit_code, 2);
  r = imagine("eval " + temp_path("not-a-run"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a run directory"), std::string::npos) << r.err;
}

TEST(CliTest, ConfigurationReferenceIsCurrent) {
  const auto r = imagine("config docs");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, read_file(std::string(IMAGINE_SOURCE_DIR) + "/docs/configuration.md"))
      << "docs/configuration.md is stale: regenerate with `imagine config docs > docs/configuration.md`";
}

TEST(CliTest, CollectWritesTrainAndHeldOutDatasets) {
  const std::string dir = temp_path("collect");
  fs::create_directories(dir);
  auto r = imagine("collect minatar/breakout --steps 800 --envs 4 --heldout 0.25 --out " + dir + "/d.replay");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir + "/d.replay"));
  EXPECT_TRUE(fs::exists(dir + "/d.heldout.replay"));
  EXPECT_GT(fs::file_size(dir + "/d.replay"), 2 * fs::file_size(dir + "/d.heldout.replay"));
  r = imagine("collect minatar/breakout --steps 10 --envs 2 --heldout 0.9 --out " + dir + "/x.replay");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("leaves no training stream"), std::string::npos) << r.err;
  r = imagine("collect minatar/breakout --steps 10 --policy " + dir + " --out " + dir + "/y.replay");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a run directory"), std::string::npos) << r.err;
}

// Every kind of run acts for `collect`, and `info` counts a trained run's modules.
TEST(CliTest, CollectWithATrainedPolicyAndInfoOfARun) {
  const std::string dir = temp_path("policy");
  const std::string storm = std::string(IMAGINE_SOURCE_DIR) + "/configs/storm_tiny.toml";
  ASSERT_EQ(imagine("train --config " + storm + " --run-dir " + dir + "/storm").exit_code, 0);
  ASSERT_EQ(imagine("train " + kTinyJob + " --set steps=320 --run-dir " + dir + "/a2c").exit_code, 0);
  for (const char* run : {"storm", "a2c"}) {
    auto r = imagine("collect minatar/breakout --policy " + dir + "/" + run + " --steps 300 --envs 3 --out " + dir +
                     "/" + run + ".replay");
    ASSERT_EQ(r.exit_code, 0) << run << ": " << r.err;
    EXPECT_TRUE(fs::exists(dir + "/" + run + ".replay"));
    r = imagine("--format json info " + dir + "/" + run);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto rows = nlohmann::json::parse(r.out);
    EXPECT_GT(rows.size(), 1u);
    const auto from_config = imagine("--format json info --config " + dir + "/" + run + "/config.toml");
    EXPECT_EQ(r.out, from_config.out);
  }
  EXPECT_EQ(imagine("info " + dir + "/storm --set seed=2").exit_code, 2);
}

// Every Freeway frame lights exactly 17 cells (the chicken, 8 cars, 8 speed marks), so an
// all-zero picture misses by exactly 17; each episode runs to the 2,501-step time limit.
TEST(CliTest, EnvsStatsOfFreeway) {
  const auto r = imagine("--format json envs stats minatar/freeway --episodes 2 --seed 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto row = nlohmann::json::parse(r.out).at(0);
  EXPECT_EQ(row.at("episodes"), 2);
  EXPECT_EQ(row.at("steps"), 5002);
  EXPECT_DOUBLE_EQ(row.at("length_mean").get<double>(), 2501.0);
  EXPECT_DOUBLE_EQ(row.at("blank_frame_error").get<double>(), 17.0);
  EXPECT_GE(row.at("return_min").get<double>(), 0.0);
}

// Freeway pays only for crossing nine rows of traffic: uniform actions rarely get there, runs
// of one held action (ez-greedy, as STORM's exploratory warm-up) often do (about 0.4 against 5
// crossings per episode with the 3 minimal actions and runs of up to 1,000 steps).
TEST(CliTest, EnvsStatsEzGreedyCrossesFreewayMoreOftenThanUniformActions) {
  const std::string common = "--format json envs stats minatar/freeway --episodes 20 --seed 3 --set env.minimal_actions=true "
                             "--set storm.exploration_max_repeat=1000";
  const auto uniform = imagine(common);
  const auto ez = imagine(common + " --policy ez_greedy");
  ASSERT_EQ(uniform.exit_code, 0) << uniform.err;
  ASSERT_EQ(ez.exit_code, 0) << ez.err;
  const auto u = nlohmann::json::parse(uniform.out).at(0), e = nlohmann::json::parse(ez.out).at(0);
  EXPECT_EQ(u.at("policy"), "random");
  EXPECT_EQ(e.at("policy"), "ez_greedy");
  EXPECT_LT(u.at("return_mean").get<double>(), 1.5);
  EXPECT_GT(e.at("return_mean").get<double>(), 2.5);
  EXPECT_EQ(imagine("envs stats minatar/freeway --policy greedy").exit_code, 2);
}

TEST(CliTest, EnvsListShowsBuiltInIds) {
  const auto r = imagine("--format json envs list");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  EXPECT_GE(rows.size(), 10u);
}

}  // namespace imagine
