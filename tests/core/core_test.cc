// Tests of the small core services: RNG, thread pool, atomic files, run directories,
// metrics and checkpoints.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "imagine/core/checkpoint.h"
#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/core/files.h"
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
  EXPECT_FALSE(find_checkpoint(d, 300).has_value());
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
