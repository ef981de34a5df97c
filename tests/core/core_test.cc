// Tests of the small core services: RNG, thread pool, atomic files, run directories,
// metrics and checkpoints.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "imagine/core/checkpoint.h"
#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/core/files.h"
#include "imagine/core/finite.h"
#include "imagine/core/rng.h"
#include "imagine/core/run_dir.h"
#include "imagine/core/thread_pool.h"

namespace fs = std::filesystem;

namespace imagine {

namespace {
std::string fresh_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "/imagine_core_" + name;
  fs::remove_all(d);
  return d;
}
}  // namespace

TEST(RngTest, SameSeedSameStreamDifferentSeedDifferent) {
  Rng a(7), b(7), c(8);
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next();
    EXPECT_EQ(x, b.next());
    (void)c.next();
  }
  EXPECT_NE(Rng(7).next(), Rng(8).next());
}

TEST(RngTest, UniformIntCoversRangeEvenly) {
  Rng rng(1);
  std::vector<int> counts(6, 0);
  const int n = 60000;
  for (int i = 0; i < n; ++i) {
    const auto v = rng.uniform_int(-2, 3);
    ASSERT_GE(v, -2);
    ASSERT_LE(v, 3);
    counts[static_cast<size_t>(v + 2)]++;
  }
  // Each bin expects 10000 with binomial sd ~91; allow 5 sd.
  for (int c : counts) EXPECT_NEAR(c, 10000, 460);
}

TEST(RngTest, StateRoundTrip) {
  Rng a(3);
  a.next();
  Rng b;
  b.set_state(a.state());
  EXPECT_EQ(a.next(), b.next());
}

TEST(ThreadPoolTest, CoversEveryIndexOnceWithAnyThreadCount) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int n : {0, 1, 5, 100}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.run(n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
      });
      for (auto& h : hits) EXPECT_EQ(h.load(), 1);
    }
  }
}

TEST(ThreadPoolTest, PropagatesExceptionFromCallerChunk) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.run(4, [](int64_t b, int64_t) { if (b == 0) throw std::runtime_error("x"); }), std::runtime_error);
  int sum = 0;
  pool.run(1, [&](int64_t, int64_t) { sum = 1; });
  EXPECT_EQ(sum, 1);
}

TEST(FilesTest, AtomicWriteReplacesWholeFileAndLeavesNoTemporary) {
  const std::string d = fresh_dir("files");
  fs::create_directories(d);
  write_text_atomically(d + "/a.txt", "first");
  write_text_atomically(d + "/a.txt", "second");
  EXPECT_EQ(read_text_file(d + "/a.txt"), "second");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(d)) entries += e.is_regular_file();
  EXPECT_EQ(entries, 1);
  EXPECT_THROW(write_text_atomically("/nonexistent-dir/x", "y"), UserError);
}

TEST(RunDirTest, RefusesToOverwriteUnlessForced) {
  const std::string d = fresh_dir("run");
  RunDir::create(d, false, "x = 1\n", {{"seed", 1}});
  EXPECT_TRUE(fs::exists(d + "/checkpoints"));
  EXPECT_TRUE(fs::exists(d + "/media"));
  EXPECT_THROW(RunDir::create(d, false, "x = 2\n", {}), UserError);
  RunDir::create(d, true, "x = 2\n", {});
  EXPECT_EQ(read_text_file(d + "/config.toml"), "x = 2\n");
  EXPECT_THROW(RunDir::open(d + "/nothing"), UserError);
}

TEST(RunDirTest, MetricsResumeDropsLinesAfterCheckpoint) {
  const std::string d = fresh_dir("metrics");
  fs::create_directories(d);
  {
    MetricsWriter m(d + "/m.jsonl");
    for (int s : {10, 20, 30}) m.write(s, {{"loss", s * 0.5}});
  }
  {
    MetricsWriter m(d + "/m.jsonl", 20);
    m.write(30, {{"loss", 99.0}});
  }
  std::ifstream in(d + "/m.jsonl");
  std::string line;
  std::vector<nlohmann::json> lines;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1]["step"], 20);
  EXPECT_EQ(lines[2]["loss"], 99.0);
}

TEST(DeviceTest, Bf16AutocastCoversItsScopeOnly) {
  torch::manual_seed(0);  // fixed inputs: the bf16 error bound below holds for these, not for every draw
  const at::Tensor a = torch::randn({8, 16});
  const at::Tensor b = torch::randn({16, 4});
  const c10::Device cpu(c10::kCPU);
  {
    Bf16Autocast off(cpu, false);
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat);
  }
  {
    Bf16Autocast outer(cpu, true);
    const at::Tensor product = torch::mm(a, b);
    EXPECT_EQ(product.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(torch::allclose(product.to(torch::kFloat), torch::mm(a.to(torch::kDouble), b.to(torch::kDouble)).to(torch::kFloat),
                                2e-2, 5e-2));
    {
      Bf16Autocast inner(cpu, true);
      EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
    }
    // Leaving a nested scope keeps the outer one on.
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat);
  EXPECT_THROW(Bf16Autocast(c10::Device(c10::kMeta), true), UserError);
}

TEST(CheckpointTest, RoundTripAndLatest) {
  const std::string d = fresh_dir("ckpt");
  auto t = torch::arange(6, torch::kFloat32);
  save_checkpoint(d, 100, "demo", [&](OutputArchive& a, nlohmann::json& meta) {
    a.write("t", t);
    meta["x"] = 5;
  });
  save_checkpoint(d, 200, "demo", [&](OutputArchive& a, nlohmann::json&) { a.write("t", t * 2); });
  const auto latest = find_checkpoint(d);
  ASSERT_TRUE(latest.has_value());
  torch::Tensor back;
  const int64_t step = load_checkpoint(*latest, "demo", [&](InputArchive& a, const nlohmann::json&) { a.read("t", back); });
  EXPECT_EQ(step, 200);
  EXPECT_TRUE(torch::equal(back, t * 2));
  int x = 0;
  load_checkpoint(*find_checkpoint(d, 100), "demo", [&](InputArchive&, const nlohmann::json& m) { x = m["x"]; });
  EXPECT_EQ(x, 5);
  EXPECT_THROW(find_checkpoint(d, 300), UserError);
}

// The trailer's CRC-32 catches every corruption; LibTorch's reader alone accepted most.
TEST(CheckpointTest, EveryCorruptionIsFound) {
  const std::string d = fresh_dir("flip");
  const std::string path = save_checkpoint(d, 7, "demo", [](OutputArchive& a, nlohmann::json&) {
    a.write("t", torch::arange(4096, torch::kFloat32));
  });
  const std::string good = read_text_file(path);
  auto noop = [](InputArchive&, const nlohmann::json&) {};
  EXPECT_EQ(load_checkpoint(path, "demo", noop), 7);
  Rng rng(11);
  for (int trial = 0; trial < 40; ++trial) {
    std::string bad = good;
    const int64_t at = rng.uniform_int(0, static_cast<int64_t>(bad.size()) - 8);
    for (int k = 0; k < 8; ++k) bad[static_cast<size_t>(at + k)] ^= static_cast<char>(rng.uniform_int(1, 255));
    write_text_atomically(path, bad);
    try {
      load_checkpoint(path, "demo", noop);
      ADD_FAILURE() << "corruption at byte " << at << " was accepted";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

TEST(CheckpointTest, LatestFallsBackToTheNewestAndMissingStepsAreNamed) {
  const std::string d = fresh_dir("latest");
  for (int64_t step : {100, 200, 300})
    save_checkpoint(d, step, "demo", [](OutputArchive& a, nlohmann::json&) { a.write("t", torch::ones({1})); });
  fs::remove(d + "/latest");
  EXPECT_EQ(*find_checkpoint(d), d + "/step-000000300.pt");
  write_text_atomically(d + "/latest", std::string("step-\0\0\x01", 8));
  EXPECT_EQ(*find_checkpoint(d), d + "/step-000000300.pt");
  write_text_atomically(d + "/latest", "step-000000999.pt\n");
  EXPECT_EQ(*find_checkpoint(d), d + "/step-000000300.pt");
  try {
    find_checkpoint(d, 5);
    ADD_FAILURE() << "step 5 does not exist";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("100, 200, 300"), std::string::npos) << e.what();
  }
  EXPECT_THROW(find_checkpoint(d, -1), UserError);
  EXPECT_FALSE(find_checkpoint(fresh_dir("empty")).has_value());
}

TEST(CheckpointTest, PruningKeepsTheNewestAndTheMilestones) {
  const std::string d = fresh_dir("prune");
  for (int64_t step = 10; step <= 100; step += 10) {
    save_checkpoint(d, step, "demo", [](OutputArchive& a, nlohmann::json&) { a.write("t", torch::ones({1})); });
    prune_checkpoints(d, 3, 40);
  }
  EXPECT_EQ(checkpoint_steps(d), (std::vector<int64_t>{40, 80, 90, 100}));
  prune_checkpoints(d, 0, 0);  // 0 keeps all
  EXPECT_EQ(checkpoint_steps(d).size(), 4u);
}

TEST(FilesTest, TemporariesOfDeadProcessesAreRemoved) {
  const std::string d = fresh_dir("stale");
  fs::create_directories(d);
  const pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);  // a pid that no longer runs
  write_text_atomically(d + "/keep.txt", "x");
  std::ofstream(d + "/step-000000001.pt.tmp." + std::to_string(child)) << "half";
  std::ofstream(d + "/other.tmp.1") << "pid 1 is alive";
  EXPECT_EQ(remove_stale_temporaries(d), 1);
  EXPECT_TRUE(fs::exists(d + "/keep.txt"));
  EXPECT_TRUE(fs::exists(d + "/other.tmp.1"));
  EXPECT_EQ(printable(std::string("a\x01" "b\n", 4)), "a\\x01b\\x0a");
  EXPECT_EQ(crc32_update(0, "123456789", 9), 0xcbf43926u);  // the standard check value
}

TEST(RunDirTest, ForceReplacesOnlyARunsOwnFiles) {
  const std::string d = fresh_dir("force");
  fs::create_directories(d + "/sub");
  std::ofstream(d + "/notes.txt") << "mine";
  EXPECT_THROW(RunDir::create(d, true, "x = 1\n", {}), UserError);
  EXPECT_THROW(RunDir::create(d + "/sub/..", true, "x = 1\n", {}), UserError);
  EXPECT_TRUE(fs::exists(d + "/notes.txt"));
  EXPECT_TRUE(fs::exists(d + "/sub"));
  const std::string run = d + "/run";
  { RunDir::create(run, false, "x = 1\n", {}); }
  std::ofstream(run + "/README") << "kept";
  std::ofstream(run + "/metrics.jsonl") << "{}\n";
  { RunDir::create(run, true, "x = 2\n", {}); }
  EXPECT_EQ(read_text_file(run + "/README"), "kept");
  EXPECT_FALSE(fs::exists(run + "/metrics.jsonl"));
  EXPECT_EQ(read_text_file(run + "/config.toml"), "x = 2\n");
}

TEST(RunDirTest, OneWriterAtATime) {
  const std::string d = fresh_dir("lock");
  {
    RunDir writer = RunDir::create(d, false, "x = 1\n", {});
    EXPECT_THROW(RunDir::open(d, true), UserError);
    EXPECT_NO_THROW(RunDir::open(d));  // readers need no lock
  }
  EXPECT_NO_THROW(RunDir::open(d, true));  // released with its holder
  RunDir failed = RunDir::open(d, true);
  failed.remove_own_files();
  EXPECT_FALSE(fs::exists(d));
}

// Allocation failures the estimates did not foresee become the CLI's one-line "out of memory".
TEST(DeviceTest, AllocationFailuresAreRecognised) {
  EXPECT_TRUE(is_out_of_memory(std::bad_alloc()));
  try {
    auto huge = torch::empty({int64_t{1} << 62}, torch::kUInt8);  // 4 EiB: no allocator grants it
    ADD_FAILURE() << "allocated " << huge.numel() << " bytes";
  } catch (const std::exception& e) {
    EXPECT_TRUE(is_out_of_memory(e)) << e.what();
  }
  EXPECT_FALSE(is_out_of_memory(std::runtime_error("shape mismatch")));
  EXPECT_NO_THROW(check_fits_in_memory(1024.0, "a kilobyte", ""));
  EXPECT_THROW(check_fits_in_memory(1e30, "everything", "buy more"), UserError);
}

TEST(FiniteTest, NamesEveryNonFiniteValue) {
  EXPECT_NO_THROW(check_finite("demo", 3, {{"a", torch::tensor(1.0)}, {"b", torch::tensor(2.0f)}}));
  try {
    check_finite("demo", 3, {{"a", torch::tensor(1.0)}, {"b", torch::tensor(NAN)}, {"c", torch::tensor(INFINITY)}});
    ADD_FAILURE() << "NaN accepted";
  } catch (const DivergenceError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("demo diverged at step 3: b = nan, c = inf"), std::string::npos) << what;
  }
  std::vector<at::Tensor> params = {torch::ones({3}), torch::zeros({2, 2})};
  EXPECT_TRUE(std::isfinite(parameters_norm(params).item<double>()));
  params[1][0][1] = NAN;
  EXPECT_FALSE(std::isfinite(parameters_norm(params).item<double>()));
}

TEST(CheckpointTest, CorruptOrMismatchedCheckpointIsUserError) {
  const std::string d = fresh_dir("bad");
  const std::string path = save_checkpoint(d, 1, "demo", [](OutputArchive& a, nlohmann::json&) {
    a.write("t", torch::ones({3}));
  });
  auto noop = [](InputArchive&, const nlohmann::json&) {};
  EXPECT_THROW(load_checkpoint(path, "other", noop), UserError);
  auto needs_missing = [](InputArchive& a, const nlohmann::json&) {
    torch::Tensor t;
    a.read("missing", t);
  };
  EXPECT_THROW(load_checkpoint(path, "demo", needs_missing), UserError);
  // Truncate the file: must be rejected cleanly.
  const auto size = fs::file_size(path);
  fs::resize_file(path, size / 2);
  EXPECT_THROW(load_checkpoint(path, "demo", noop), UserError);
  std::ofstream(d + "/garbage.pt") << "not a checkpoint";
  EXPECT_THROW(load_checkpoint(d + "/garbage.pt", "demo", noop), UserError);
  EXPECT_THROW(load_checkpoint(d + "/absent.pt", "demo", noop), UserError);
}

TEST(CheckpointTest, TorchRngStateRestores) {
  const std::string d = fresh_dir("rng");
  torch::manual_seed(3);
  const std::string path = save_checkpoint(d, 1, "demo", [](OutputArchive& a, nlohmann::json&) { save_torch_rng(a); });
  const auto expected = torch::rand({4});
  torch::manual_seed(99);
  load_checkpoint(path, "demo", [](InputArchive& a, const nlohmann::json&) { load_torch_rng(a); });
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected));
}

}  // namespace imagine
