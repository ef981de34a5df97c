// What a careless user, a killed process or a cluster scheduler does to a run, through the
// real binary: nothing of theirs is deleted, nothing is lost or silently accepted, and every
// bad input is one line with exit code 2.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/testing/run_binary.h"

namespace fs = std::filesystem;

namespace imagine {
namespace {

using testing::read_file;

testing::CommandResult imagine(const std::string& args) { return testing::run_imagine(IMAGINE_BINARY, args); }

std::string fresh(const std::string& name) {
  const std::string p = ::testing::TempDir() + "/imagine_reliability_" + name;
  fs::remove_all(p);
  return p;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A one-line error with exit code 2 that contains `text`.
void expect_user_error(const testing::CommandResult& r, const std::string& text) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(text), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("imagine: error: "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
}

const std::string kStorm = std::string(IMAGINE_SOURCE_DIR) + "/configs/storm_tiny.toml";
const std::string kSsm = std::string(IMAGINE_SOURCE_DIR) + "/configs/ssm/tiny.toml";
// A seconds-long deterministic A2C job (as in cli_test.cc).
const std::string kA2c =
    "--set kind=a2c --set steps=960 --set log_every=160 --set checkpoint_every=320 --set eval_episodes=3 "
    "--set threads=1 --set a2c.num_envs=8 --set a2c.rollout=4 --set a2c.hidden=32";

// Starts `imagine args` in the background; stdout and stderr go to `log`.
pid_t spawn(const std::string& args, const std::string& log) {
  const std::string command = std::string("exec ") + IMAGINE_BINARY + " " + args + " >" + log + " 2>&1 </dev/null";
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Waits (at most 60 s) until `path` exists and is not empty.
bool wait_for_file(const std::string& path) {
  for (int i = 0; i < 600; ++i) {
    if (fs::exists(path) && fs::file_size(path) > 0) return true;
    usleep(100000);
  }
  return false;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A pid that no longer runs.
pid_t dead_pid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  return child;
}

// An RGB dataset pair for configs/ssm/tiny.toml.
std::string collect_rgb(const std::string& dir, const std::string& id = "minatar/breakout") {
  fs::create_directories(dir);
  const std::string data = dir + "/d.replay";
  const auto r = imagine("collect " + id + " --steps 400 --envs 4 --out " + data +
                         " --set env.obs=rgb --set env.image_size=16 --force");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return data;
}

}  // namespace

// 1. --force replaces run directories only, and only their own files.
TEST(ReliabilityTest, ForceNeverDeletesWhatIsNotARun) {
  const std::string x = fresh("force");
  fs::create_directories(x + "/sub");
  write_file(x + "/notes.txt", "a");
  auto r = testing::run_imagine("cd " + x + " && " + IMAGINE_BINARY, "train -c " + kStorm + " --run-dir . --force");
  expect_user_error(r, "is not a run directory");
  r = imagine("train -c " + kStorm + " --run-dir " + x + "/keep/.. --force");
  expect_user_error(r, "is not a run directory");
  r = imagine("train -c " + kStorm + " --run-dir " + x + " --force");
  expect_user_error(r, "is not a run directory");
  EXPECT_EQ(read_file(x + "/notes.txt"), "a");
  EXPECT_TRUE(fs::is_directory(x + "/sub"));

  const std::string run = x + "/run";
  ASSERT_EQ(imagine("train " + kA2c + " --set steps=320 --run-dir " + run).exit_code, 0);
  write_file(run + "/my-notes.md", "kept");
  r = imagine("train " + kA2c + " --set steps=320 --run-dir " + run + " --force");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_file(run + "/my-notes.md"), "kept");
}

// 2 and 5. A run directory has one writer; a killed writer leaves no lock and no temporary.
TEST(ReliabilityTest, OneWriterPerRunAndAKilledRunLeavesNothingBehind) {
  const std::string run = fresh("lock"), log = run + ".log";
  const pid_t first = spawn("train " + kA2c + " --set steps=100000000 --run-dir " + run, log);
  ASSERT_TRUE(wait_for_file(run + "/checkpoints/latest")) << read_file(log);
  auto r = imagine("train --resume " + run);
  expect_user_error(r, "is in use by another imagine process");
  r = imagine("train " + kA2c + " --run-dir " + run + " --force");
  expect_user_error(r, "is in use by another imagine process");
  kill(first, SIGKILL);
  wait_exit(first);
  // What a kill -9 in the middle of a checkpoint write leaves.
  const std::string half = run + "/checkpoints/step-000099999.pt.tmp." + std::to_string(dead_pid());
  write_file(half, "half a checkpoint");
  r = imagine("train --resume " + run + " --set steps=1");  // steps below the run's: nothing to do
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(half));
  fs::remove(log);
}

// 3. A diverging run stops before anything non-finite is written, exit 2, naming the step and
// the term; the checkpoints it leaves evaluate. One that diverges before its first checkpoint
// leaves no directory.
TEST(ReliabilityTest, DivergenceStopsBeforeAnythingNonFiniteIsSaved) {
  const std::string run = fresh("nan");
  auto r = imagine("train -c " + kStorm + " --run-dir " + run +
                   " --set world_model.adam_eps=0 --set checkpoint_every=1 --set checkpoint_keep=0");
  expect_user_error(r, "diverged at step");
  EXPECT_NE(r.err.find("world_model parameters = "), std::string::npos) << r.err;
  const std::string latest = read_file(run + "/checkpoints/latest");
  ASSERT_FALSE(latest.empty());
  r = imagine("--format json eval " + run + " --episodes 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_file(run + "/metrics.jsonl").find("null"), std::string::npos) << "JSON writes NaN as null";

  const std::string early = fresh("nan_early");
  r = imagine("train -c " + kStorm + " --run-dir " + early + " --set world_model.adam_eps=0 --set checkpoint_every=1000");
  expect_user_error(r, "diverged at step");
  EXPECT_FALSE(fs::exists(early)) << "a run that failed before its first checkpoint leaves nothing to resume";
}

// 4. Checkpoints and datasets carry a checksum; a flipped byte is a one-line error naming the file.
TEST(ReliabilityTest, CorruptCheckpointsAndDatasetsAreRefused) {
  const std::string run = fresh("crc");
  ASSERT_EQ(imagine("train " + kA2c + " --set steps=320 --run-dir " + run).exit_code, 0);
  const std::string ckpt = run + "/checkpoints/step-000000320.pt";
  std::string bytes = read_file(ckpt);
  bytes[bytes.size() / 2] ^= 0x10;
  write_file(ckpt, bytes);
  expect_user_error(imagine("eval " + run), "checkpoint '" + ckpt + "' is corrupt");
  expect_user_error(imagine("train --resume " + run + " --set steps=640"), "is corrupt");

  const std::string data = collect_rgb(fresh("crc_data"));
  bytes = read_file(data);
  bytes[bytes.size() / 3] ^= 0x01;
  write_file(data, bytes);
  expect_user_error(imagine("train -c " + kSsm + " --run-dir " + fresh("crc_run") + " --set env_model.dataset=" + data),
                    "dataset '" + data + "' is corrupt");
}

// 5 and 6. SIGTERM and SIGHUP are a first Ctrl-C: a checkpoint, then exit 128 + signal.
// `collect` keeps what it gathered on Ctrl-C and leaves no temporary file.
TEST(ReliabilityTest, TermAndHangupCheckpointLikeCtrlC) {
  for (const auto& [sig, name] : {std::pair{SIGTERM, "SIGTERM"}, std::pair{SIGHUP, "SIGHUP"}}) {
    const std::string run = fresh(std::string("signal_") + name), log = run + ".log";
    const pid_t pid = spawn("train " + kA2c + " --set steps=100000000 --run-dir " + run, log);
    ASSERT_TRUE(wait_for_file(run + "/metrics.jsonl")) << read_file(log);
    kill(pid, sig);
    EXPECT_EQ(wait_exit(pid), 128 + sig) << read_file(log);
    EXPECT_NE(read_file(log).find(std::string(name) + " at step"), std::string::npos) << read_file(log);
    const auto r = imagine("train --resume " + run + " --set steps=1");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("resumed from"), std::string::npos) << r.err;
    fs::remove(log);
  }
  const std::string dir = fresh("collect_int");
  fs::create_directories(dir);
  write_file(dir + "/d.replay.tmp." + std::to_string(dead_pid()), "what a killed collect left");
  const pid_t pid = spawn("collect minatar/breakout --steps 4000000 --envs 2 --out " + dir + "/d.replay", dir + "/log");
  sleep(3);  // start-up, then some collecting
  kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 130) << read_file(dir + "/log");
  EXPECT_TRUE(fs::exists(dir + "/d.replay")) << read_file(dir + "/log");
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  // The interrupted dataset loads whole (checksum and all): what refuses it is its symbolic frames.
  expect_user_error(imagine("train -c " + kSsm + " --run-dir " + dir + "/never --set env_model.dataset=" + dir +
                            "/d.replay"),
                    "has frames of shape [4, 10, 10]");
}

// 7. Sizes a user chose: one line, exit 2, the memory needed and the memory there is.
TEST(ReliabilityTest, ImpossibleSizesAreUserErrors) {
  const std::string never = fresh("never");
  expect_user_error(imagine("train --set world_model.reward_low=1 --set world_model.reward_high=1 --run-dir " + never),
                    "reward_high (1) must exceed reward_low (1)");
  expect_user_error(imagine("train --set world_model.reward_low=2 --set world_model.reward_high=1 --run-dir " + never),
                    "must exceed");
  expect_user_error(imagine("train --set 'name=a\x01z' --run-dir " + never), "control character");
  expect_user_error(imagine("envs record minatar/breakout --steps 20000 --scale 16 --out " + never + ".png"),
                    "GiB of memory");
  expect_user_error(imagine("train --set replay.capacity=1000000000 --run-dir " + never), "GiB of memory");
  expect_user_error(imagine("train --set storm.imagination_batch=10000000 --run-dir " + never), "GiB of memory");
  expect_user_error(imagine("collect minatar/breakout --steps 3000000 --set env.obs=rgb --out " + never + ".replay"),
                    "GiB of memory");
  expect_user_error(imagine("train --set world_model.dim=100000 --run-dir " + never), "GiB of memory");
  EXPECT_FALSE(fs::exists(never));
}

// 8. What a run was made from cannot change under it.
TEST(ReliabilityTest, RunsAndDatasetsCheckWhatTheyWereMadeFrom) {
  const std::string run = fresh("mismatch");
  ASSERT_EQ(imagine("train " + kA2c + " --set steps=320 --run-dir " + run).exit_code, 0);
  const std::string config = read_file(run + "/config.toml");
  expect_user_error(imagine("train --resume " + run + " --set env.id=minatar/asterix"), "cannot change env.id");
  expect_user_error(imagine("train --resume " + run + " --set a2c.hidden=64"), "cannot change a2c.hidden");
  EXPECT_EQ(read_file(run + "/config.toml"), config);
  auto r = imagine("train --resume " + run + " --set steps=640 --set log_every=80");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto manifest = nlohmann::json::parse(read_file(run + "/manifest.json"));
  ASSERT_EQ(manifest["resumed"].size(), 1u);
  EXPECT_EQ(manifest["resumed"][0]["step"], 320);

  const std::string dir = fresh("datasets");
  const std::string asterix = collect_rgb(dir + "/asterix", "minatar/asterix");
  expect_user_error(imagine("train -c " + kSsm + " --run-dir " + dir + "/r1 --set env_model.dataset=" + asterix),
                    "was collected with env.id = \"minatar/asterix\"");
  // --heldout 0 removes the held-out file of an earlier collection instead of leaving it to be used.
  const std::string breakout = collect_rgb(dir + "/breakout");
  ASSERT_TRUE(fs::exists(dir + "/breakout/d.heldout.replay"));
  expect_user_error(imagine("collect minatar/breakout --steps 40 --out " + breakout), "already exists");
  r = imagine("collect minatar/breakout --steps 400 --envs 4 --heldout 0 --force --out " + breakout +
              " --set env.obs=rgb --set env.image_size=16");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/breakout/d.heldout.replay"));
  // A held-out file from another collection, and a dataset swapped under a run.
  const std::string other = collect_rgb(dir + "/other");
  expect_user_error(imagine("train -c " + kSsm + " --run-dir " + dir + "/r2 --set env_model.dataset=" + breakout +
                            " --set env_model.heldout=" + dir + "/other/d.heldout.replay"),
                    "was not collected together with");
  r = imagine("train -c " + kSsm + " --run-dir " + dir + "/r3 --set env_model.dataset=" + breakout);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  fs::copy_file(other, breakout, fs::copy_options::overwrite_existing);
  expect_user_error(imagine("train --resume " + dir + "/r3 --set steps=9"), "is not the one this run was trained on");
}

// 9. `config check` runs the validation `train` runs.
TEST(ReliabilityTest, ConfigCheckRejectsWhatTrainRejects) {
  const std::string file = fresh("check.toml");
  write_file(file, "steps = 100\n");
  for (const std::string set :
       {"world_model.encoder_channels=[]", "world_model.encoder_channels=[-1]", "world_model.heads=3",
        "storm.batch_length=100", "env.id=minatar/pong", "device=tpu",
        "kind=env_model --set env_model.dataset=/nonexistent.replay", "actor_critic.return_percentile_low=99",
        "actor_critic.return_percentile_low=60 --set actor_critic.return_percentile_high=40"}) {
    const auto check = imagine("config check " + file + " --set " + set);
    EXPECT_EQ(check.exit_code, 2) << set << ": " << check.err;
    const auto train = imagine("train --config " + file + " --set " + set + " --run-dir " + fresh("never9"));
    EXPECT_EQ(train.exit_code, 2) << set;
    EXPECT_EQ(check.err, train.err) << set;
  }
  EXPECT_EQ(imagine("config check " + file).exit_code, 0);
}

// 10. Errors that name what is wrong.
TEST(ReliabilityTest, ErrorsNameWhatIsWrong) {
  const std::string run = fresh("messages");
  ASSERT_EQ(imagine("train " + kA2c + " --set steps=640 --run-dir " + run).exit_code, 0);
  write_file(run + "/checkpoints/latest", std::string("step-\0\0\x07\n", 9));
  auto r = imagine("eval " + run + " --episodes 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("\\x00\\x00\\x07"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("using the newest checkpoint, step 640"), std::string::npos) << r.err;
  fs::remove(run + "/checkpoints/latest");
  EXPECT_EQ(imagine("eval " + run + " --episodes 1").exit_code, 0);
  expect_user_error(imagine("eval " + run + " --checkpoint 5"), "has no checkpoint at step 5; it has 320, 640");
  expect_user_error(imagine("config check " + std::string(IMAGINE_SOURCE_DIR) + "/configs/storm_tiny.toml --set a.b.c.d=1"),
                    "--set a.b.c.d=1: unknown key 'a'");
  write_file(run + "/metrics.jsonl", "garbage\nmore garbage\n");
  expect_user_error(imagine("plot " + run + " --out " + run + "/p.png"), "holds no metrics lines");
  r = imagine("eval " + run + " --episodes abc");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("abc"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("not in range"), std::string::npos) << r.err;
  expect_user_error(imagine("train --resume ''"), "--resume needs the run directory");

  // Three rows per stream: too short for one held-out sequence of four frames.
  const std::string dir = fresh("short_heldout");
  fs::create_directories(dir);
  r = imagine("collect minatar/breakout --steps 24 --envs 8 --heldout 0.125 --out " + dir + "/short.replay" +
              " --set env.obs=rgb --set env.image_size=16");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_user_error(imagine("train -c " + kSsm + " --run-dir " + dir + "/r --set env_model.dataset=" + dir + "/short.replay"),
                    "held-out dataset '" + dir + "/short.heldout.replay'");
}

// 11. The small things.
TEST(ReliabilityTest, SmallThings) {
  const std::string run = fresh("small");
  EXPECT_EQ(imagine("train " + kA2c + " --run-dir " + run + " --stop-at 0").exit_code, 2);
  EXPECT_EQ(imagine("train " + kA2c + " --run-dir " + run + " --stop-at -5").exit_code, 2);
  EXPECT_FALSE(fs::exists(run));
  ASSERT_EQ(imagine("train " + kA2c + " --run-dir " + run + " --set checkpoint_every=32 --set checkpoint_keep=2 "
                    "--set checkpoint_keep_every=320")
                .exit_code,
            0);
  std::vector<std::string> kept;
  for (const auto& entry : fs::directory_iterator(run + "/checkpoints")) kept.push_back(entry.path().filename());
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(kept, (std::vector<std::string>{"latest", "step-000000320.pt", "step-000000640.pt", "step-000000928.pt",
                                            "step-000000960.pt"}));
  EXPECT_EQ(imagine("eval " + run + " --episodes -2").exit_code, 2);
  EXPECT_EQ(imagine("eval " + run + " --checkpoint -1").exit_code, 2);
  expect_user_error(imagine("train --resume " + run + " --run-dir elsewhere"), "drop --run-dir");
  expect_user_error(imagine("collect minatar/breakout --steps 8 --set seed=4 --out " + run + "/d.replay"),
                    "collect reads only env.* options");
  expect_user_error(imagine("plot " + run + " --metric loss/value --out " + run + "/x.gif"), "must end in .png");
  // Config files layer: later files override earlier ones key by key, --set last.
  write_file(run + "/base.toml", "kind = \"a2c\"\nsteps = 100\n[a2c]\nhidden = 16\nnum_envs = 4\n");
  write_file(run + "/over.toml", "[a2c]\nhidden = 24\n");
  auto r = imagine("--format json info --config " + run + "/base.toml --config " + run + "/over.toml");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto with_override = r.out;
  r = imagine("--format json info --config " + run + "/base.toml --set a2c.hidden=24");
  EXPECT_EQ(r.out, with_override);
  EXPECT_EQ(imagine("config check " + run + "/base.toml " + run + "/over.toml").exit_code, 0);
  ASSERT_EQ(imagine("train --config " + run + "/base.toml --config " + run + "/over.toml --set steps=64 --run-dir " +
                    run + "/layered")
                .exit_code,
            0);
  const std::string resolved = read_file(run + "/layered/config.toml");
  EXPECT_NE(resolved.find("hidden = 24"), std::string::npos) << resolved;
  EXPECT_NE(resolved.find("num_envs = 4"), std::string::npos) << resolved;
}

}  // namespace imagine
