#include "imagine/data/replay_buffer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "imagine/core/error.h"
#include "imagine/core/rng.h"

namespace imagine::data {
namespace {

namespace fs = std::filesystem;

struct Row {
  int64_t action;
  float reward;
  bool terminated, truncated, life_lost, first;
};

// Feeds a buffer rows whose content encodes (stream, insertion index), with random episode
// lengths in [1, max_episode], and remembers every row so windows can be checked exactly.
class Feeder {
 public:
  Feeder(int64_t streams, std::vector<int64_t> shape, int64_t max_episode, uint64_t seed)
      : shape_(std::move(shape)), max_episode_(max_episode), rng_(seed), truth_(streams), left_(streams, 0) {}

  static uint8_t pixel(int64_t stream, int64_t g, int64_t e) { return static_cast<uint8_t>(g * 31 + stream * 7 + e); }
  static float reward_of(int64_t stream, int64_t g) { return static_cast<float>(stream * 100000 + g); }

  void add(ReplayBuffer& buffer, int64_t steps) {
    const int64_t n = static_cast<int64_t>(truth_.size());
    const int64_t frame = shape_[0] * shape_[1] * shape_[2];
    auto obs = torch::empty({n, shape_[0], shape_[1], shape_[2]}, torch::kUInt8);
    auto action = torch::empty({n}, torch::kInt64);
    auto reward = torch::empty({n}, torch::kFloat32);
    auto term = torch::empty({n}, torch::kBool), trunc = torch::empty({n}, torch::kBool);
    auto life = torch::empty({n}, torch::kBool), first = torch::empty({n}, torch::kBool);
    for (int64_t step = 0; step < steps; ++step) {
      for (int64_t s = 0; s < n; ++s) {
        const int64_t g = static_cast<int64_t>(truth_[s].size());
        Row row{};
        row.first = left_[s] == 0;
        if (row.first) left_[s] = rng_.uniform_int(1, max_episode_);
        --left_[s];
        const bool ends = left_[s] == 0;
        row.terminated = ends && rng_.bernoulli(0.5);
        row.truncated = ends && !row.terminated;
        row.life_lost = rng_.bernoulli(0.2);
        row.action = g;
        row.reward = reward_of(s, g);
        truth_[s].push_back(row);
        uint8_t* o = obs.data_ptr<uint8_t>() + s * frame;
        for (int64_t e = 0; e < frame; ++e) o[e] = pixel(s, g, e);
        action.data_ptr<int64_t>()[s] = row.action;
        reward.data_ptr<float>()[s] = row.reward;
        term.data_ptr<bool>()[s] = row.terminated;
        trunc.data_ptr<bool>()[s] = row.truncated;
        life.data_ptr<bool>()[s] = row.life_lost;
        first.data_ptr<bool>()[s] = row.first;
      }
      buffer.add(obs, action, reward, term, trunc, life, first);
    }
  }

  const Row& row(int64_t stream, int64_t g) const { return truth_[stream][g]; }
  int64_t rows_added(int64_t stream) const { return static_cast<int64_t>(truth_[stream].size()); }

 private:
  std::vector<int64_t> shape_;
  int64_t max_episode_;
  Rng rng_;
  std::vector<std::vector<Row>> truth_;
  std::vector<int64_t> left_;
};

ReplayOptions with_capacity(int64_t capacity) {
  ReplayOptions options;
  options.capacity = capacity;
  return options;
}

// Checks window b of `batch` against the recorded rows; returns its first insertion index.
int64_t check_window(const ReplayBuffer& buffer, const Feeder& feeder, const Batch& batch, int64_t b) {
  const int64_t length = batch.action.size(1);
  const int64_t s = batch.stream[b].item<int64_t>();
  const int64_t start = batch.start[b].item<int64_t>();
  const int64_t oldest = buffer.total_added(s) - buffer.num_rows(s);
  const int64_t g0 = oldest + start;
  // Within the stored rows: never reaches past the newest row nor before the oldest, i.e.
  // never crosses the ring's write position.
  EXPECT_GE(start, 0);
  EXPECT_LE(start + length, buffer.num_rows(s));
  const auto& shape = buffer.obs_shape();
  const int64_t frame = shape[0] * shape[1] * shape[2];
  auto obs = batch.obs[b].contiguous();
  auto action = batch.action.accessor<int64_t, 2>();
  auto reward = batch.reward.accessor<float, 2>();
  auto terminated = batch.terminated.accessor<bool, 2>();
  auto truncated = batch.truncated.accessor<bool, 2>();
  auto life_lost = batch.life_lost.accessor<bool, 2>();
  auto first = batch.first.accessor<bool, 2>();
  for (int64_t t = 0; t < length; ++t) {
    const int64_t g = g0 + t;
    const Row& row = feeder.row(s, g);
    EXPECT_EQ(action[b][t], g) << "window " << b << " t " << t;
    EXPECT_EQ(reward[b][t], Feeder::reward_of(s, g));  // one stream only
    EXPECT_EQ(terminated[b][t], row.terminated);
    EXPECT_EQ(truncated[b][t], row.truncated);
    EXPECT_EQ(life_lost[b][t], row.life_lost);
    EXPECT_EQ(first[b][t], row.first);
    const uint8_t* o = obs.data_ptr<uint8_t>() + t * frame;
    int64_t wrong = 0;
    for (int64_t e = 0; e < frame; ++e) wrong += o[e] != Feeder::pixel(s, g, e);
    EXPECT_EQ(wrong, 0) << "frame of row " << g;
  }
  return g0;
}

std::string temp_path(const std::string& name) {
  return (fs::path(::testing::TempDir()) / ("imagine_replay_" + std::to_string(::getpid()) + "_" + name)).string();
}

void expect_same(const Batch& a, const Batch& b) {
  EXPECT_TRUE(torch::equal(a.obs, b.obs));
  EXPECT_TRUE(torch::equal(a.action, b.action));
  EXPECT_TRUE(torch::equal(a.reward, b.reward));
  EXPECT_TRUE(torch::equal(a.terminated, b.terminated));
  EXPECT_TRUE(torch::equal(a.truncated, b.truncated));
  EXPECT_TRUE(torch::equal(a.life_lost, b.life_lost));
  EXPECT_TRUE(torch::equal(a.first, b.first));
  EXPECT_TRUE(torch::equal(a.stream, b.stream));
  EXPECT_TRUE(torch::equal(a.start, b.start));
}

TEST(ReplayBufferTest, BatchShapesAndDtypes) {
  ReplayBuffer buffer(with_capacity(20), {3, 4, 5}, 2);
  Feeder feeder(2, {3, 4, 5}, 6, 1);
  feeder.add(buffer, 12);
  Rng rng(3);
  const Batch batch = buffer.sample(7, 4, rng);
  EXPECT_EQ(batch.obs.sizes(), (std::vector<int64_t>{7, 4, 3, 4, 5}));
  EXPECT_EQ(batch.obs.scalar_type(), torch::kUInt8);
  EXPECT_EQ(batch.action.sizes(), (std::vector<int64_t>{7, 4}));
  EXPECT_EQ(batch.action.scalar_type(), torch::kInt64);
  EXPECT_EQ(batch.reward.scalar_type(), torch::kFloat32);
  for (const auto* t : {&batch.terminated, &batch.truncated, &batch.life_lost, &batch.first}) {
    EXPECT_EQ(t->sizes(), (std::vector<int64_t>{7, 4}));
    EXPECT_EQ(t->scalar_type(), torch::kBool);
  }
  EXPECT_EQ(batch.stream.sizes(), (std::vector<int64_t>{7}));
  for (int64_t b = 0; b < 7; ++b) check_window(buffer, feeder, batch, b);
}

TEST(ReplayBufferTest, WrapsAroundOverwritingOldestRows) {
  ReplayBuffer buffer(with_capacity(5), {1, 2, 3}, 2);
  Feeder feeder(2, {1, 2, 3}, 3, 2);
  feeder.add(buffer, 3);
  EXPECT_EQ(buffer.num_rows(0), 3);
  EXPECT_EQ(buffer.size(), 6);
  feeder.add(buffer, 5);
  for (int64_t s = 0; s < 2; ++s) {
    EXPECT_EQ(buffer.num_rows(s), 5);  // capped
    EXPECT_EQ(buffer.total_added(s), 8);
    // Rows 0..4 are insertion indices 3..7: the three oldest were overwritten.
    const Batch all = buffer.window(s, 0, 5);
    for (int64_t t = 0; t < 5; ++t) EXPECT_EQ(all.action[0][t].item<int64_t>(), 3 + t);
    check_window(buffer, feeder, all, 0);
  }
  EXPECT_EQ(buffer.size(), 10);
  EXPECT_THROW(buffer.window(0, 1, 5), c10::Error);
}

TEST(ReplayBufferTest, DefaultWindowsStayInStoredRowsAndCarryFirstFlags) {
  ReplayBuffer buffer(with_capacity(40), {2, 3, 3}, 3);
  Feeder feeder(3, {2, 3, 3}, 8, 5);
  feeder.add(buffer, 57);  // wrapped: the write position is inside the ring
  Rng rng(11);
  const Batch batch = buffer.sample(1500, 6, rng);
  const auto first = batch.first.index({torch::indexing::Slice(), torch::indexing::Slice(1)});
  EXPECT_GT(first.sum().item<int64_t>(), 0) << "default windows should include episode starts";
  for (int64_t b = 0; b < batch.action.size(0); ++b) check_window(buffer, feeder, batch, b);
}

TEST(ReplayBufferTest, WithinEpisodeWindowsHaveNoStartAfterPositionZero) {
  ReplayBuffer buffer(with_capacity(40), {2, 3, 3}, 3);
  Feeder feeder(3, {2, 3, 3}, 12, 6);
  feeder.add(buffer, 57);
  Rng rng(12);
  const Batch batch = buffer.sample(1500, 4, rng, /*within_episode=*/true);
  const auto inner = batch.first.index({torch::indexing::Slice(), torch::indexing::Slice(1)});
  EXPECT_EQ(inner.sum().item<int64_t>(), 0);
  EXPECT_GT(batch.first.select(1, 0).sum().item<int64_t>(), 0);  // position 0 may start one
  for (int64_t b = 0; b < batch.action.size(0); ++b) check_window(buffer, feeder, batch, b);
}

// Every valid (stream, start) must be drawn with the same probability. 100 000 draws over K
// valid starts: each count is Binomial(n, 1/K); we allow 5 standard deviations per bin and a
// chi-square statistic below df + 5 sqrt(2 df) (its mean plus 5 of its standard deviations).
void expect_uniform_starts(bool within_episode, int64_t length) {
  const int64_t streams = 3;
  ReplayBuffer buffer(with_capacity(40), {1, 2, 2}, streams);
  Feeder feeder(streams, {1, 2, 2}, 10, 7);
  feeder.add(buffer, 61);
  std::map<std::pair<int64_t, int64_t>, int64_t> counts;  // (stream, start) -> draws
  for (int64_t s = 0; s < streams; ++s) {
    const int64_t rows = buffer.num_rows(s);
    const int64_t oldest = buffer.total_added(s) - rows;
    for (int64_t i = 0; i + length <= rows; ++i) {
      bool valid = true;
      for (int64_t t = 1; within_episode && t < length; ++t) valid = valid && !feeder.row(s, oldest + i + t).first;
      if (valid) counts[{s, i}] = 0;
    }
  }
  const int64_t bins = static_cast<int64_t>(counts.size());
  ASSERT_GT(bins, 20);
  Rng rng(99);
  const int64_t calls = 100, per_call = 1000, draws = calls * per_call;
  for (int64_t c = 0; c < calls; ++c) {
    const Batch batch = buffer.sample(per_call, length, rng, within_episode);
    auto stream = batch.stream.accessor<int64_t, 1>();
    auto start = batch.start.accessor<int64_t, 1>();
    for (int64_t b = 0; b < per_call; ++b) {
      auto it = counts.find({stream[b], start[b]});
      ASSERT_NE(it, counts.end()) << "invalid start " << start[b] << " in stream " << stream[b];
      ++it->second;
    }
  }
  const double p = 1.0 / static_cast<double>(bins);
  const double mean = draws * p;
  const double sd = std::sqrt(draws * p * (1 - p));
  double chi2 = 0;
  for (const auto& [key, count] : counts) {
    EXPECT_NEAR(static_cast<double>(count), mean, 5 * sd) << "stream " << key.first << " start " << key.second;
    chi2 += (count - mean) * (count - mean) / mean;
  }
  const double df = static_cast<double>(bins - 1);
  EXPECT_LT(chi2, df + 5 * std::sqrt(2 * df)) << bins << " bins";
}

TEST(ReplayBufferTest, DefaultStartsAreUniform) { expect_uniform_starts(false, 6); }
TEST(ReplayBufferTest, WithinEpisodeStartsAreUniform) { expect_uniform_starts(true, 3); }

// One stream of `rows` rows in episodes of `episode` rows, with the given rows rewarded (1),
// terminated (ending their episode early) or losing a life; everything else is 0.
ReplayBuffer sparse_events(int64_t rows, int64_t episode, const std::vector<int64_t>& rewarded,
                           const std::vector<int64_t>& terminated, const std::vector<int64_t>& life_lost) {
  ReplayBuffer buffer(with_capacity(rows), {1, 1, 1}, 1);
  const auto has = [](const std::vector<int64_t>& v, int64_t g) { return std::find(v.begin(), v.end(), g) != v.end(); };
  const auto flag = [](bool b) { return torch::full({1}, b, torch::kBool); };
  int64_t since_start = 0;
  bool ended = true;
  for (int64_t g = 0; g < rows; ++g) {
    const bool first = ended;
    since_start = first ? 0 : since_start + 1;
    const bool term = has(terminated, g), trunc = !term && since_start == episode - 1;
    buffer.add(torch::zeros({1, 1, 1, 1}, torch::kUInt8), torch::full({1}, g, torch::kLong),
               torch::full({1}, has(rewarded, g) ? 1.0f : 0.0f), flag(term), flag(trunc), flag(has(life_lost, g)),
               flag(first));
    ended = term || trunc;
  }
  return buffer;
}

TEST(ReplayBufferTest, EventShareZeroIsPlainSampling) {
  ReplayBuffer buffer(with_capacity(40), {2, 3, 3}, 3);
  Feeder feeder(3, {2, 3, 3}, 12, 6);
  feeder.add(buffer, 57);
  Rng a(5), b(5);
  expect_same(buffer.sample(64, 4, a, true), buffer.sample_favouring_events(64, 4, b, true, 0.0, 4, 7));
  EXPECT_EQ(a.uniform_int(0, 1000000), b.uniform_int(0, 1000000));  // the same draws
}

// Imagination starts: 4-row contexts with an event 4..7 rows after their first row, inside
// their episode. Every such window is drawn, and no other.
TEST(ReplayBufferTest, EventWindowsHaveTheirEventAheadInTheirEpisode) {
  const std::vector<int64_t> rewarded = {20, 95}, terminated = {59}, life_lost = {130};
  const ReplayBuffer buffer = sparse_events(150, 30, rewarded, terminated, life_lost);
  std::vector<int64_t> events = rewarded;
  events.insert(events.end(), {59, 130});
  // Episodes start at 0, 30, 60, 90, 120: a window [w, w + 3] and its event g must share one.
  const auto episode = [](int64_t g) { return g / 30; };
  std::set<int64_t> expected;
  for (int64_t w = 0; w + 4 <= 150; ++w)
    for (int64_t g : events)
      if (g >= w + 4 && g <= w + 7 && episode(w) == episode(g)) expected.insert(w);
  ASSERT_EQ(expected.size(), 14u);  // four starts per event, but two of 95's begin in the episode before

  Rng rng(3);
  const Batch batch = buffer.sample_favouring_events(2000, 4, rng, true, 1.0, 4, 7);
  std::set<int64_t> drawn;
  for (int64_t b = 0; b < 2000; ++b) drawn.insert(batch.start[b].item<int64_t>());
  EXPECT_EQ(drawn, expected);
  // Uniform over windows, 5 standard deviations of a binomial count.
  const double p = 1.0 / 14;
  for (int64_t w : expected) {
    const int64_t count = (batch.start == w).sum().item<int64_t>();
    EXPECT_NEAR(static_cast<double>(count), 2000 * p, 5 * std::sqrt(2000 * p * (1 - p))) << "start " << w;
  }
}

TEST(ReplayBufferTest, EventWindowsMixWithUniformOnesAndFallBackWithoutEvents) {
  const ReplayBuffer buffer = sparse_events(200, 50, {10, 110}, {}, {});
  Rng rng(8);
  // World-model windows: 8 rows with the event anywhere in them; a quarter of 16 are such.
  for (int64_t round = 0; round < 20; ++round) {
    const Batch batch = buffer.sample_favouring_events(16, 8, rng, false, 0.25, 0, 7);
    EXPECT_EQ(batch.reward.narrow(0, 12, 4).sum(1).gt(0).sum().item<int64_t>(), 4);
  }
  const ReplayBuffer quiet = sparse_events(200, 50, {}, {}, {});
  const Batch batch = quiet.sample_favouring_events(16, 8, rng, false, 0.5, 0, 7);
  EXPECT_EQ(batch.action.size(0), 16);
  EXPECT_THROW(quiet.sample_favouring_events(16, 8, rng, false, 1.5, 0, 7), UserError);
  EXPECT_THROW(quiet.sample_favouring_events(16, 8, rng, false, 0.5, 3, 2), UserError);
}

TEST(ReplayBufferTest, NoValidWindowRaisesUserError) {
  ReplayBuffer buffer(with_capacity(50), {1, 1, 1}, 2);
  Rng rng(1);
  EXPECT_THROW(buffer.sample(1, 1, rng), UserError);  // empty
  Feeder feeder(2, {1, 1, 1}, 3, 1);
  feeder.add(buffer, 4);
  try {
    buffer.sample(2, 5, rng);
    FAIL() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("holds 8 rows"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("windows of 5 steps"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(buffer.sample(2, 4, rng));
  // Episodes are at most 3 rows long, so 4-step windows inside one episode do not exist.
  EXPECT_THROW(buffer.sample(2, 4, rng, true), UserError);
  EXPECT_THROW(buffer.sample(0, 4, rng), UserError);
}

TEST(ReplayBufferTest, EpisodesPartitionStoredRows) {
  ReplayBuffer buffer(with_capacity(30), {1, 1, 2}, 2);
  Feeder feeder(2, {1, 1, 2}, 7, 9);
  feeder.add(buffer, 45);
  const auto spans = buffer.episodes();
  std::vector<int64_t> next(2, 0);
  for (const auto& span : spans) {
    const int64_t oldest = buffer.total_added(span.stream) - buffer.num_rows(span.stream);
    EXPECT_EQ(span.start, next[span.stream]);  // contiguous, in order, no gaps
    next[span.stream] += span.length;
    const Row& head = feeder.row(span.stream, oldest + span.start);
    EXPECT_EQ(span.begins, head.first);
    EXPECT_TRUE(span.begins || span.start == 0);  // only the oldest row may lack first
    for (int64_t t = 1; t < span.length; ++t) EXPECT_FALSE(feeder.row(span.stream, oldest + span.start + t).first);
    const Row& tail = feeder.row(span.stream, oldest + span.start + span.length - 1);
    EXPECT_EQ(span.ends, tail.terminated || tail.truncated);
    const int64_t after = oldest + span.start + span.length;
    if (after < buffer.total_added(span.stream)) {
      EXPECT_TRUE(feeder.row(span.stream, after).first);
    }
  }
  EXPECT_EQ(next[0], 30);
  EXPECT_EQ(next[1], 30);
}

TEST(ReplayBufferTest, SaveLoadRoundTripSamplesIdentically) {
  ReplayBuffer buffer(with_capacity(40), {3, 4, 4}, 3);
  Feeder feeder(3, {3, 4, 4}, 9, 4);
  feeder.add(buffer, 53);
  const std::string path = temp_path("roundtrip.replay");
  buffer.save(path);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  ReplayBuffer loaded = ReplayBuffer::load(path);
  EXPECT_EQ(loaded.capacity(), 40);
  EXPECT_EQ(loaded.obs_shape(), buffer.obs_shape());
  for (int64_t s = 0; s < 3; ++s) {
    EXPECT_EQ(loaded.num_rows(s), buffer.num_rows(s));
    EXPECT_EQ(loaded.total_added(s), buffer.total_added(s));
  }
  EXPECT_EQ(loaded.episodes().size(), buffer.episodes().size());
  EXPECT_EQ(ReplayBuffer::stored_rows(path), buffer.size());  // from the header alone
  for (bool within : {false, true}) {
    Rng a(21), b(21);
    expect_same(buffer.sample(64, 3, a, within), loaded.sample(64, 3, b, within));
  }
  // Ring positions survive too: adding the same rows keeps both identical.
  Feeder again_a(3, {3, 4, 4}, 9, 8), again_b(3, {3, 4, 4}, 9, 8);
  again_a.add(buffer, 17);
  again_b.add(loaded, 17);
  Rng a(5), b(5);
  expect_same(buffer.sample(64, 8, a), loaded.sample(64, 8, b));
  fs::remove(path);
}

TEST(ReplayBufferTest, EmptyBufferRoundTrips) {
  ReplayBuffer buffer(with_capacity(7), {1, 2, 2}, 2);
  const std::string path = temp_path("empty.replay");
  buffer.save(path);
  ReplayBuffer loaded = ReplayBuffer::load(path);
  EXPECT_EQ(loaded.size(), 0);
  EXPECT_EQ(loaded.num_streams(), 2);
  fs::remove(path);
}

std::string load_error(const std::string& path) {
  try {
    ReplayBuffer::load(path);
  } catch (const UserError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ReplayBufferTest, TruncatedFileIsRejected) {
  ReplayBuffer buffer(with_capacity(10), {1, 3, 3}, 2);
  Feeder feeder(2, {1, 3, 3}, 4, 3);
  feeder.add(buffer, 6);
  const std::string path = temp_path("truncated.replay");
  buffer.save(path);
  const auto full = fs::file_size(path);
  fs::resize_file(path, full - 1);
  const std::string body = load_error(path);
  EXPECT_NE(body.find("is truncated: expected " + std::to_string(full) + " bytes, found " + std::to_string(full - 1)),
            std::string::npos)
      << body;
  // The header alone promises more bytes than the file has.
  EXPECT_THROW(ReplayBuffer::stored_rows(path), UserError);
  fs::resize_file(path, 30);  // inside the fixed header
  EXPECT_NE(load_error(path).find("truncated"), std::string::npos) << load_error(path);
  fs::remove(path);
}

TEST(ReplayBufferTest, GarbageAndOtherVersionsAreRejected) {
  const std::string path = temp_path("garbage.replay");
  {
    std::ofstream out(path, std::ios::binary);
    out << "this is not a replay buffer, just some text";
  }
  EXPECT_NE(load_error(path).find("is not an imagine replay file"), std::string::npos) << load_error(path);
  { std::ofstream out(path, std::ios::binary); }  // empty file
  EXPECT_NE(load_error(path).find("is not an imagine replay file"), std::string::npos) << load_error(path);

  ReplayBuffer buffer(with_capacity(4), {1, 1, 1}, 1);
  buffer.save(path);
  {
    std::fstream io(path, std::ios::binary | std::ios::in | std::ios::out);
    io.seekp(8);
    const uint32_t version = 77;
    io.write(reinterpret_cast<const char*>(&version), sizeof(version));
  }
  EXPECT_NE(load_error(path).find("has format version 77, this build reads 1 and 2"), std::string::npos)
      << load_error(path);

  buffer.save(path);
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << "extra";
  }
  EXPECT_NE(load_error(path).find("unexpected trailing bytes"), std::string::npos) << load_error(path);
  EXPECT_NE(load_error(temp_path("missing.replay")).find("cannot read"), std::string::npos);
  fs::remove(path);
}

// The file ends in a CRC-32 of its content: any flipped byte is an error naming the file.
TEST(ReplayBufferTest, EveryCorruptionIsFound) {
  ReplayBuffer buffer(with_capacity(30), {2, 5, 5}, 2);
  Feeder feeder(2, {2, 5, 5}, 6, 3);
  feeder.add(buffer, 25);
  buffer.set_source({{"env", {{"id", "minatar/breakout"}}}, {"collection", "abc"}});
  const std::string path = temp_path("flipped.replay");
  buffer.save(path);
  std::string good;
  {
    std::ifstream in(path, std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const ReplayBuffer loaded = ReplayBuffer::load(path);
  EXPECT_EQ(loaded.source()["collection"], "abc");
  EXPECT_EQ(loaded.checksum(), buffer.checksum());
  EXPECT_NE(loaded.checksum(), 0u);
  Rng rng(3);
  for (int trial = 0; trial < 40; ++trial) {
    std::string bad = good;
    const int64_t at = rng.uniform_int(8, static_cast<int64_t>(bad.size()) - 1);  // past the magic number
    bad[static_cast<size_t>(at)] ^= static_cast<char>(rng.uniform_int(1, 255));
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << bad;
    }
    const std::string error = load_error(path);
    EXPECT_NE(error.find("dataset '" + path + "'"), std::string::npos) << "byte " << at << ": " << error;
  }
  fs::remove(path);
}

// Files of format version 1 (before the source record and the checksum) still load.
TEST(ReplayBufferTest, VersionOneFilesStillLoad) {
  ReplayBuffer buffer(with_capacity(20), {1, 3, 3}, 2);
  Feeder feeder(2, {1, 3, 3}, 5, 2);
  feeder.add(buffer, 15);
  const std::string path = temp_path("v1.replay");
  buffer.save(path);
  std::string v2;
  {
    std::ifstream in(path, std::ios::binary);
    v2.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // Version 2 = the fixed header (56 bytes), i64 n and n bytes of source, the rest, u32 CRC.
  int64_t n = 0;
  std::memcpy(&n, v2.data() + 56, sizeof n);
  std::string v1 = v2.substr(0, 56) + v2.substr(static_cast<size_t>(64 + n));
  v1.resize(v1.size() - 4);
  const uint32_t one = 1;
  std::memcpy(v1.data() + 8, &one, sizeof one);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << v1;
  }
  const ReplayBuffer loaded = ReplayBuffer::load(path);
  EXPECT_EQ(loaded.size(), buffer.size());
  EXPECT_TRUE(loaded.source().is_null());
  EXPECT_EQ(loaded.checksum(), 0u);
  Rng a(4), b(4);
  expect_same(buffer.sample(16, 3, a), loaded.sample(16, 3, b));
  fs::remove(path);
}

TEST(ReplayBufferTest, NonFrameOverheadIsSmall) {
  ReplayBuffer atari(with_capacity(2000), {3, 64, 64}, 4);
  const double ratio = static_cast<double>(atari.memory_bytes()) / static_cast<double>(atari.frame_bytes());
  EXPECT_EQ(atari.frame_bytes(), 4 * 2000 * 3 * 64 * 64);
  EXPECT_LE(ratio, 1.05);
  ReplayBuffer minatar(with_capacity(2000), {4, 10, 10}, 4);
  const double small = static_cast<double>(minatar.memory_bytes()) / static_cast<double>(minatar.frame_bytes());
  std::printf("replay memory / frame bytes: 3x64x64 %.4f, 4x10x10 %.4f\n", ratio, small);
  EXPECT_LE(small, 1.0 + 10.0 / 400.0);  // 9 bytes per 400-byte frame plus bookkeeping
}

TEST(ReplayBufferTest, AddValidatesItsInput) {
  ReplayBuffer buffer(with_capacity(8), {1, 2, 2}, 2);
  auto obs = torch::zeros({2, 1, 2, 2}, torch::kUInt8);
  auto action = torch::zeros({2}, torch::kInt64);
  auto reward = torch::zeros({2});
  auto no = torch::zeros({2}, torch::kBool);
  auto yes = torch::ones({2}, torch::kBool);
  EXPECT_THROW(buffer.add(torch::zeros({3, 1, 2, 2}, torch::kUInt8), action, reward, no, no, no, yes), c10::Error);
  EXPECT_THROW(buffer.add(obs.to(torch::kFloat32), action, reward, no, no, no, yes), c10::Error);
  EXPECT_THROW(buffer.add(obs, torch::zeros({3}, torch::kInt64), reward, no, no, no, yes), c10::Error);
  EXPECT_EQ(buffer.size(), 0);
  // Other dtypes and non-contiguous inputs are converted.
  buffer.add(torch::zeros({1, 2, 2, 2}, torch::kUInt8).permute({1, 0, 2, 3}), action.to(torch::kInt32),
             reward.to(torch::kFloat64), yes, no, no, yes);
  EXPECT_EQ(buffer.size(), 2);
  // After an episode ends, the stream's next row must start a new one.
  EXPECT_THROW(buffer.add(obs, action, reward, no, no, no, no), c10::Error);
  EXPECT_EQ(buffer.size(), 2);
  buffer.add(obs, action, reward, no, no, no, yes);
  buffer.add(obs, action, reward, no, no, no, no);
  EXPECT_EQ(buffer.size(), 6);
}

TEST(ReplayBufferTest, RejectsBadOptions) {
  EXPECT_THROW(ReplayBuffer(with_capacity(0), {1, 2, 2}, 1), UserError);
  EXPECT_THROW(ReplayBuffer(with_capacity(4), {1, 2}, 1), UserError);
  EXPECT_THROW(ReplayBuffer(with_capacity(4), {1, 0, 2}, 1), UserError);
  EXPECT_THROW(ReplayBuffer(with_capacity(4), {1, 2, 2}, 0), UserError);
}

// Collects what visit() declares (config::to_toml would need libimagine_core's fmt link).
struct FieldCollector {
  std::map<std::string, config::FieldInfo> fields;
  template <class T>
  void field(std::string_view key, T&, const config::FieldInfo& info) {
    fields[std::string(key)] = info;
  }
};

TEST(ReplayBufferTest, OptionsDescribeThemselves) {
  ReplayOptions options;
  FieldCollector collector;
  options.visit(collector);
  ASSERT_EQ(collector.fields.size(), 2u);
  const auto& capacity = collector.fields.at("capacity");
  ASSERT_TRUE(capacity.range.has_value());
  EXPECT_EQ(capacity.range->lo, 1);
  EXPECT_FALSE(capacity.doc.empty());
  EXPECT_FALSE(collector.fields.at("pin_memory").doc.empty());
}

}  // namespace
}  // namespace imagine::data
