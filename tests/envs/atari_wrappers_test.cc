// The Atari-side wrappers (frame skip, max-pool, no-op starts, resize, grayscale) on small
// synthetic envs, so they run without ALE.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "imagine/core/error.h"
#include "imagine/envs/wrappers/frame_skip.h"
#include "imagine/envs/wrappers/grayscale.h"
#include "imagine/envs/wrappers/resize.h"

namespace imagine::envs {
namespace {

// Frame t (t = 0 at reset) shows pixel k = (t * 10 + k) % 256 on even pixels and
// (200 - t * 10 - k) mod 256 on odd ones, so that a max over two frames differs from
// either frame. Each frame gives reward t; a life is lost on frame `life_frame` and the
// game ends on frame `end_frame`. Counts the frames it was stepped.
class TickEnv : public Env {
 public:
  TickEnv(int64_t end_frame, int64_t life_frame) : end_frame_(end_frame), life_frame_(life_frame) {
    spec_.id = "test/tick";
    spec_.channels = 2;
    spec_.height = 3;
    spec_.width = 4;
    spec_.num_actions = 3;
    spec_.action_meanings = {"A", "B", "C"};
  }
  const EnvSpec& spec() const override { return spec_; }
  void seed(uint64_t) override {}
  void reset(uint8_t* obs) override {
    t_ = 0;
    render(obs);
  }
  StepOutcome step(int64_t action, uint8_t* obs) override {
    ++t_;
    ++frames_stepped;
    actions.push_back(action);
    render(obs);
    StepOutcome out;
    out.reward = static_cast<float>(t_);
    out.terminated = t_ == end_frame_;
    out.life_lost = t_ == life_frame_;
    return out;
  }
  static std::vector<uint8_t> frame(int64_t t, int64_t size) {
    std::vector<uint8_t> f(static_cast<size_t>(size));
    for (int64_t k = 0; k < size; ++k) {
      f[static_cast<size_t>(k)] = static_cast<uint8_t>(k % 2 == 0 ? (t * 10 + k) % 256 : (200 - t * 10 - k + 512) % 256);
    }
    return f;
  }
  int64_t frames_stepped = 0;
  std::vector<int64_t> actions;

 protected:
  void render(uint8_t* obs) {
    if (!obs) return;
    const auto f = frame(t_, spec_.obs_size());
    std::copy(f.begin(), f.end(), obs);
  }
  EnvSpec spec_;
  int64_t t_ = 0;
  int64_t end_frame_, life_frame_;
};

// The same env offering its frames on demand; it refuses to render during steps so that the
// test notices if FrameSkip asks for frames it does not need.
class TickSource : public TickEnv, public FrameSource {
 public:
  using TickEnv::TickEnv;
  StepOutcome step(int64_t action, uint8_t* obs) override {
    EXPECT_EQ(obs, nullptr) << "a FrameSource should be stepped without an observation";
    return TickEnv::step(action, nullptr);
  }
  void current_frame(uint8_t* obs) override {
    ++frames_fetched;
    render(obs);
  }
  int64_t frames_fetched = 0;
};

// The same again, pooling the kept and the current frame itself.
class TickPooledSource : public TickSource {
 public:
  using TickSource::TickSource;
  bool keep_frame() override {
    kept_ = t_;
    return true;
  }
  void pooled_frame(uint8_t* obs) override {
    ++frames_fetched;
    const auto a = frame(kept_, spec_.obs_size()), b = frame(t_, spec_.obs_size());
    for (size_t i = 0; i < a.size(); ++i) obs[i] = std::max(a[i], b[i]);
  }

 private:
  int64_t kept_ = -1;
};

std::vector<uint8_t> max_of(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  std::vector<uint8_t> m(a.size());
  for (size_t i = 0; i < a.size(); ++i) m[i] = std::max(a[i], b[i]);
  return m;
}

template <class Inner>
void check_frame_skip(bool expect_fetches) {
  auto inner = std::make_unique<Inner>(/*end_frame=*/10, /*life_frame=*/3);
  Inner* raw = inner.get();
  FrameSkip env(std::move(inner), 4, /*max_pool=*/true);
  EXPECT_EQ(env.spec().frame_skip, 4);
  const int64_t size = env.spec().obs_size();
  std::vector<uint8_t> obs(static_cast<size_t>(size));
  env.reset(obs.data());
  EXPECT_EQ(obs, TickEnv::frame(0, size));

  // Step 1: frames 1..4, rewards 1+2+3+4, life lost on frame 3, max of frames 3 and 4.
  StepOutcome out = env.step(2, obs.data());
  EXPECT_FLOAT_EQ(out.reward, 10.0f);
  EXPECT_TRUE(out.life_lost);
  EXPECT_FALSE(out.terminated);
  EXPECT_EQ(obs, max_of(TickEnv::frame(3, size), TickEnv::frame(4, size)));
  EXPECT_NE(obs, TickEnv::frame(3, size));
  EXPECT_NE(obs, TickEnv::frame(4, size));
  EXPECT_EQ(raw->actions, std::vector<int64_t>(4, 2));

  // Step 2: frames 5..8.
  out = env.step(1, obs.data());
  EXPECT_FLOAT_EQ(out.reward, 5.0f + 6 + 7 + 8);
  EXPECT_FALSE(out.life_lost);
  EXPECT_EQ(obs, max_of(TickEnv::frame(7, size), TickEnv::frame(8, size)));

  // Step 3: the game ends on frame 10, two frames in: early stop, the final frame unpooled.
  out = env.step(0, obs.data());
  EXPECT_TRUE(out.terminated);
  EXPECT_FLOAT_EQ(out.reward, 9.0f + 10);
  EXPECT_EQ(raw->frames_stepped, 10);
  EXPECT_EQ(obs, TickEnv::frame(10, size));
  if (expect_fetches) {
    // Two frames per full step plus the final one (one per full step when the source pools
    // itself): nothing more was rendered.
    const bool pools = dynamic_cast<TickPooledSource*>(raw) != nullptr;
    EXPECT_EQ(dynamic_cast<TickSource*>(raw)->frames_fetched, pools ? 1 + 1 + 1 : 2 + 2 + 1);
  }
}

TEST(AtariWrappersTest, FrameSkipSumsRewardsMaxPoolsAndStopsOnGameOver) { check_frame_skip<TickEnv>(false); }

TEST(AtariWrappersTest, FrameSkipFetchesOnlyTheFramesItKeepsFromAFrameSource) {
  check_frame_skip<TickSource>(true);
}

TEST(AtariWrappersTest, FrameSkipLetsAFrameSourcePoolItself) { check_frame_skip<TickPooledSource>(true); }

TEST(AtariWrappersTest, FrameSkipWithoutMaxPoolShowsTheLastFrame) {
  FrameSkip env(std::make_unique<TickEnv>(100, 0), 3, /*max_pool=*/false);
  std::vector<uint8_t> obs(static_cast<size_t>(env.spec().obs_size()));
  env.reset(obs.data());
  env.step(0, obs.data());
  EXPECT_EQ(obs, TickEnv::frame(3, env.spec().obs_size()));
  // nullptr observations still advance the env identically.
  EXPECT_FLOAT_EQ(env.step(0, nullptr).reward, 4.0f + 5 + 6);
  env.step(0, obs.data());
  EXPECT_EQ(obs, TickEnv::frame(9, env.spec().obs_size()));
}

TEST(AtariWrappersTest, NoopResetRunsASeededRandomNumberOfNoops) {
  std::vector<int64_t> counts;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    auto inner = std::make_unique<TickEnv>(1000, 0);
    TickEnv* raw = inner.get();
    NoopReset env(std::move(inner), 5, /*noop_action=*/1);
    env.seed(seed);
    std::vector<uint8_t> obs(static_cast<size_t>(env.spec().obs_size()));
    env.reset(obs.data());
    const int64_t n = raw->frames_stepped;
    EXPECT_GE(n, 0);
    EXPECT_LE(n, 5);
    EXPECT_EQ(obs, TickEnv::frame(n, env.spec().obs_size())) << "observation is the state after the no-ops";
    for (int64_t a : raw->actions) EXPECT_EQ(a, 1);
    counts.push_back(n);
    // Same seed, same count.
    auto again = std::make_unique<TickEnv>(1000, 0);
    TickEnv* raw_again = again.get();
    NoopReset env2(std::move(again), 5, 1);
    env2.seed(seed);
    env2.reset(nullptr);
    EXPECT_EQ(raw_again->frames_stepped, n);
  }
  EXPECT_EQ(*std::min_element(counts.begin(), counts.end()), 0);
  EXPECT_EQ(*std::max_element(counts.begin(), counts.end()), 5);
}

TEST(AtariWrappersTest, NoopResetPassesAFrameSourceThroughToFrameSkip) {
  auto inner = std::make_unique<TickSource>(1000, 0);
  TickSource* raw = inner.get();
  auto noop = std::make_unique<NoopReset>(std::move(inner), 7);
  ASSERT_NE(FrameSource::of(noop.get()), nullptr);
  FrameSkip env(std::move(noop), 2, true);
  env.seed(3);
  const int64_t size = env.spec().obs_size();
  std::vector<uint8_t> obs(static_cast<size_t>(size));
  env.reset(obs.data());
  const int64_t n = raw->frames_stepped;
  EXPECT_EQ(obs, TickEnv::frame(n, size));
  env.step(0, obs.data());
  EXPECT_EQ(obs, max_of(TickEnv::frame(n + 1, size), TickEnv::frame(n + 2, size)));
  EXPECT_EQ(raw->frames_fetched, 1 + 2);
  // Without a FrameSource inside, NoopReset is not one either.
  NoopReset plain(std::make_unique<TickEnv>(1000, 0), 3);
  EXPECT_EQ(FrameSource::of(&plain), nullptr);
}

// A still picture: reset and step show `image` (C x H x W).
class PictureEnv : public Env {
 public:
  PictureEnv(int64_t c, int64_t h, int64_t w, std::vector<uint8_t> image) : image_(std::move(image)) {
    spec_.id = "test/picture";
    spec_.channels = c;
    spec_.height = h;
    spec_.width = w;
    spec_.num_actions = 1;
    spec_.action_meanings = {"NOOP"};
  }
  const EnvSpec& spec() const override { return spec_; }
  void seed(uint64_t) override {}
  void reset(uint8_t* obs) override {
    if (obs) std::copy(image_.begin(), image_.end(), obs);
  }
  StepOutcome step(int64_t, uint8_t* obs) override {
    reset(obs);
    return {};
  }
  std::vector<uint8_t>& picture() { return image_; }

 private:
  EnvSpec spec_;
  std::vector<uint8_t> image_;
};

std::vector<uint8_t> resize_image(const std::vector<uint8_t>& image, int64_t c, int64_t h, int64_t w, int64_t oh,
                                  int64_t ow, ResizeMethod method) {
  Resize env(std::make_unique<PictureEnv>(c, h, w, image), oh, ow, method);
  EXPECT_EQ(env.spec().channels, c);
  EXPECT_EQ(env.spec().height, oh);
  EXPECT_EQ(env.spec().width, ow);
  std::vector<uint8_t> out(static_cast<size_t>(c * oh * ow), 0);
  env.reset(out.data());
  std::vector<uint8_t> stepped(out.size(), 0);
  env.step(0, stepped.data());
  EXPECT_EQ(out, stepped);
  return out;
}

TEST(AtariWrappersTest, AreaResizeOfAConstantImageIsConstant) {
  for (uint8_t v : {0, 1, 77, 128, 254, 255}) {
    const std::vector<uint8_t> image(3 * 210 * 160, v);
    for (auto [oh, ow] : {std::pair<int64_t, int64_t>{64, 64}, {84, 84}, {105, 80}, {7, 13}}) {
      const auto out = resize_image(image, 3, 210, 160, oh, ow, ResizeMethod::kArea);
      for (uint8_t o : out) ASSERT_EQ(o, v) << "to " << oh << "x" << ow;
    }
    const auto bilinear = resize_image(image, 3, 210, 160, 64, 64, ResizeMethod::kBilinear);
    for (uint8_t o : bilinear) ASSERT_EQ(o, v);
  }
}

// A picture that changes a few rows per step (sometimes none, sometimes all), like a game
// screen, for the incremental area resize.
class ChangingPictureEnv : public PictureEnv {
 public:
  ChangingPictureEnv(int64_t c, int64_t h, int64_t w) : PictureEnv(c, h, w, std::vector<uint8_t>(c * h * w)), rng_(5) {}
  // Action 1 fails before writing anything; action 2 inverts one pixel (twice: back again).
  StepOutcome step(int64_t action, uint8_t* obs) override {
    std::vector<uint8_t>& image = picture();
    if (action == 1) throw UserError("test: action 1 fails");
    if (action == 2) {
      image[1000] = static_cast<uint8_t>(~image[1000]);
      reset(obs);
      return {};
    }
    const uint64_t kind = rng_() % 8;
    const size_t changes = kind == 0 ? 0 : kind == 1 ? image.size() : 1 + rng_() % 20;
    for (size_t i = 0; i < changes; ++i) {
      const size_t at = kind == 1 ? i : rng_() % image.size();
      image[at] = static_cast<uint8_t>(rng_());
    }
    reset(obs);
    return {};
  }

 private:
  std::mt19937_64 rng_;
};

TEST(AtariWrappersTest, IncrementalAreaResizeEqualsAFullResizeEveryStep) {
  for (auto [oh, ow] : {std::pair<int64_t, int64_t>{64, 64}, {84, 84}, {7, 13}}) {
    auto inner = std::make_unique<ChangingPictureEnv>(3, 210, 160);
    ChangingPictureEnv* source = inner.get();
    Resize env(std::move(inner), oh, ow, ResizeMethod::kArea);
    Resizer full(210, 160, oh, ow, ResizeMethod::kArea);
    std::vector<uint8_t> obs(static_cast<size_t>(3 * oh * ow)), want(obs.size());
    env.reset(obs.data());
    for (int step = 0; step < 300; ++step) {
      // Unobserved steps change the picture too; the next observed one must show it.
      env.step(0, step % 5 == 4 ? nullptr : obs.data());
      if (step % 5 == 4) continue;
      full.resize(source->picture().data(), want.data(), 3);
      ASSERT_EQ(obs, want) << oh << "x" << ow << " step " << step;
    }
    // A failed step between a change and its undoing must not hide the undoing.
    env.step(2, obs.data());
    EXPECT_THROW(env.step(1, obs.data()), UserError);
    env.step(2, obs.data());
    full.resize(source->picture().data(), want.data(), 3);
    EXPECT_EQ(obs, want) << oh << "x" << ow << " after a failed step";
  }
}

TEST(AtariWrappersTest, AreaResizeByAnIntegerFactorIsTheBlockMean) {
  // 2 channels of 6 x 8 down to 3 x 2: blocks of 2 x 4 pixels.
  const int64_t c = 2, h = 6, w = 8;
  std::vector<uint8_t> image(static_cast<size_t>(c * h * w));
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
  const auto out = resize_image(image, c, h, w, 3, 2, ResizeMethod::kArea);
  for (int64_t ch = 0; ch < c; ++ch) {
    for (int64_t by = 0; by < 3; ++by) {
      for (int64_t bx = 0; bx < 2; ++bx) {
        int sum = 0;
        for (int64_t y = 0; y < 2; ++y) {
          for (int64_t x = 0; x < 4; ++x) sum += image[static_cast<size_t>(ch * h * w + (by * 2 + y) * w + bx * 4 + x)];
        }
        const double mean = sum / 8.0;  // several of these means end in .5
        const int expected = static_cast<int>(std::floor(mean + 0.5));  // halves round up
        EXPECT_EQ(out[static_cast<size_t>(ch * 6 + by * 2 + bx)], expected) << "mean " << mean;
      }
    }
  }
}

TEST(AtariWrappersTest, AreaResizeNonIntegerRatioHandComputed) {
  // 3 x 3 -> 2 x 2 (ratio 1.5): output (0,0) covers pixel (0,0) fully, half of (0,1) and
  // (1,0), a quarter of (1,1): (0 + 0.5*30 + 0.5*90 + 0.25*120) / 2.25 = 40.
  const std::vector<uint8_t> image = {0, 30, 60, 90, 120, 150, 180, 210, 240};
  EXPECT_EQ(resize_image(image, 1, 3, 3, 2, 2, ResizeMethod::kArea), (std::vector<uint8_t>{40, 80, 160, 200}));
  // 1 x 5 -> 1 x 2 (ratio 2.5): (10 + 20 + 0.5*255) / 2.5 = 63, (0.5*255 + 0 + 5) / 2.5 = 53.
  EXPECT_EQ(resize_image({10, 20, 255, 0, 5}, 1, 1, 5, 1, 2, ResizeMethod::kArea), (std::vector<uint8_t>{63, 53}));
  // 210 -> 64 rows: output row 0 covers rows 0..3 fully (3.28125 rows in all) and
  // 0.28125 of row 3: weights 1,1,1,0.28125 over 3.28125.
  Resizer r(210, 1, 64, 1, ResizeMethod::kArea);
  ASSERT_EQ(r.rows()[0].first, 0);
  ASSERT_EQ(r.rows()[0].weights.size(), 4u);
  EXPECT_FLOAT_EQ(r.rows()[0].weights[0], 1.0f / 3.28125f);
  EXPECT_FLOAT_EQ(r.rows()[0].weights[3], 0.28125f / 3.28125f);
  std::vector<uint8_t> column(210, 0);
  column[0] = 100;
  column[3] = 255;
  uint8_t out[64];
  r.resize(column.data(), out, 1);
  EXPECT_EQ(out[0], 52);  // (100 + 0.28125 * 255) / 3.28125 = 52.33
  // Row 1 covers [3.28125, 6.5625): 0.71875 of row 3.
  EXPECT_EQ(out[1], 56);  // 0.71875 * 255 / 3.28125 = 55.86
  for (int i = 2; i < 64; ++i) EXPECT_EQ(out[i], 0);
}

TEST(AtariWrappersTest, BilinearMatchesHandComputedPilValues) {
  // 1 x 4 -> 1 x 2: scale 2, so the triangle has support 2. Output 0 is centred at 1.0 and
  // weighs pixels 0, 1, 2 by tri(-0.25), tri(0.25), tri(0.75) = 0.75, 0.75, 0.25 -> 3/7, 3/7,
  // 1/7; output 1 (centre 3.0) weighs pixels 1, 2, 3 by 1/7, 3/7, 3/7.
  EXPECT_EQ(resize_image({0, 70, 140, 210}, 1, 1, 4, 1, 2, ResizeMethod::kBilinear),
            (std::vector<uint8_t>{50, 160}));
  EXPECT_EQ(resize_image({0, 0, 100, 0}, 1, 1, 4, 1, 2, ResizeMethod::kBilinear),
            (std::vector<uint8_t>{14, 43}));  // 100/7 = 14.3, 300/7 = 42.9
  // The same along the vertical axis, with the horizontal pass rounded to uint8 first.
  EXPECT_EQ(resize_image({0, 70, 140, 210}, 1, 4, 1, 2, 1, ResizeMethod::kBilinear),
            (std::vector<uint8_t>{50, 160}));
  Resizer r(4, 4, 2, 2, ResizeMethod::kBilinear);
  ASSERT_EQ(r.cols()[1].first, 1);
  EXPECT_NEAR(r.cols()[1].weights[0], 1.0 / 7, 1e-7);
  EXPECT_NEAR(r.cols()[1].weights[2], 3.0 / 7, 1e-7);
}

TEST(AtariWrappersTest, GrayscaleUsesOpenCvBt601Weights) {
  // Pixels: red, green, blue, white, black, (10, 200, 30).
  const std::vector<uint8_t> rgb = {255, 0, 0, 255, 0, 10,    // R plane
                                    0, 255, 0, 255, 0, 200,   // G plane
                                    0, 0, 255, 255, 0, 30};   // B plane
  Grayscale env(std::make_unique<PictureEnv>(3, 2, 3, rgb));
  EXPECT_EQ(env.spec().channels, 1);
  std::vector<uint8_t> gray(6);
  env.reset(gray.data());
  // 0.299*10 + 0.587*200 + 0.114*30 = 123.81
  EXPECT_EQ(gray, (std::vector<uint8_t>{76, 150, 29, 255, 0, 124}));
  EXPECT_THROW(Grayscale(std::make_unique<PictureEnv>(2, 1, 1, std::vector<uint8_t>{0, 0})), UserError);
}

}  // namespace
}  // namespace imagine::envs
