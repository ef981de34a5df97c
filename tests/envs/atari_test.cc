// atari/<game>: ROM lookup errors (always), and the ALE backend's rules and conformance
// (skipped without ALE or without ROMs).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "imagine/build_info.h"
#include "imagine/core/config.h"
#include "imagine/core/error.h"
#include "imagine/core/md5.h"
#include "imagine/core/rng.h"
#include "imagine/envs/atari/roms.h"
#include "imagine/envs/registry.h"
#include "tests/testing/env_conformance.h"

#if IMAGINE_HAVE_ALE
#include <ale/ale_interface.hpp>

#include <algorithm>
#include <memory>

#include "imagine/envs/atari/ale_env.h"
#endif

namespace imagine::envs {
namespace {

namespace fs = std::filesystem;

// $IMAGINE_ROM_DIR, else ../shared/roms next to the source tree (or one level further up,
// for git worktrees under a sibling folder); nullopt when neither holds pong.bin.
std::optional<std::string> test_rom_dir() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("IMAGINE_ROM_DIR")) candidates.emplace_back(env);
  candidates.push_back(fs::path(IMAGINE_SOURCE_DIR) / ".." / "shared" / "roms");
  candidates.push_back(fs::path(IMAGINE_SOURCE_DIR) / ".." / ".." / "shared" / "roms");
  for (const auto& dir : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(dir / "pong.bin", ec)) return fs::weakly_canonical(dir).string();
  }
  return std::nullopt;
}

#define REQUIRE_ALE_AND_ROMS(dir_var)                                                           \
  if (!IMAGINE_HAVE_ALE) GTEST_SKIP() << "ALE backend not compiled in (-DIMAGINE_WITH_ALE=ON)"; \
  const auto dir_var = test_rom_dir();                                                          \
  if (!dir_var) GTEST_SKIP() << "no Atari ROMs: set IMAGINE_ROM_DIR"

// Sets or unsets an environment variable for one scope.
class ScopedEnvVar {
 public:
  ScopedEnvVar(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~ScopedEnvVar() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A fresh empty folder under the system temp dir.
fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("imagine_atari_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string message_of(const EnvOptions& options) {
  try {
    default_registry().make(options);
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

EnvOptions atari_options(const std::string& game, const std::string& rom_dir) {
  EnvOptions o;
  o.id = "atari/" + game;
  o.obs = envs::Observation::kRgb;
  o.rom_dir = rom_dir;
  return o;
}

// ---- ROM checks: no ALE needed -------------------------------------------------------

TEST(AtariTest, KnownRomTableCoversAtari100k) {
  int in_100k = 0;
  for (const auto& game : atari::known_games()) in_100k += atari::is_atari_100k_game(game);
  EXPECT_EQ(in_100k, 26);
  for (const auto& rom : atari::known_roms()) EXPECT_EQ(std::string(rom.md5).size(), 32u) << rom.game;
}

TEST(AtariTest, UnknownGameListsTheKnownGames) {
  const std::string msg = message_of(atari_options("pongg", "/tmp"));
  EXPECT_NE(msg.find("unknown Atari game 'pongg'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ms_pacman"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST(AtariTest, NoRomFolderSaysHowToSetOne) {
  ScopedEnvVar unset("IMAGINE_ROM_DIR", nullptr);
  try {
    atari::find_rom("pong", "");
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("set env.rom_dir or IMAGINE_ROM_DIR"), std::string::npos) << e.what();
  }
  // The environment variable is the fallback of env.rom_dir.
  const fs::path dir = temp_dir("envvar");
  ScopedEnvVar set("IMAGINE_ROM_DIR", dir.c_str());
  EXPECT_EQ(atari::rom_dir(""), dir.string());
  EXPECT_EQ(atari::rom_dir("/elsewhere"), "/elsewhere");
  const std::string msg = message_of(atari_options("pong", ""));
  EXPECT_NE(msg.find((dir / "pong.bin").string()), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(AtariTest, MissingRomFileNamesThePath) {
  const fs::path dir = temp_dir("missing");
  const std::string msg = message_of(atari_options("breakout", dir.string()));
  EXPECT_NE(msg.find((dir / "breakout.bin").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(AtariTest, UnsupportedRomNamesFileAndHash) {
  const fs::path dir = temp_dir("badmd5");
  const std::string content = "not an Atari cartridge";
  std::ofstream(dir / "pong.bin", std::ios::binary) << content;
  const std::string msg = message_of(atari_options("pong", dir.string()));
  EXPECT_NE(msg.find((dir / "pong.bin").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find(md5_hex(content)), std::string::npos) << msg;
  EXPECT_NE(msg.find("60e0ea3cbe0913d39803477945e9e5ec"), std::string::npos) << "expected hash named: " << msg;
  fs::remove_all(dir);
}

TEST(AtariTest, ShippedRomsMatchTheTable) {
  const auto dir = test_rom_dir();
  if (!dir) GTEST_SKIP() << "no Atari ROMs: set IMAGINE_ROM_DIR";
  int found = 0;
  for (const auto& game : atari::known_games()) {
    if (!fs::exists(fs::path(*dir) / (game + ".bin"))) continue;
    EXPECT_NO_THROW(atari::find_rom(game, *dir)) << game;
    ++found;
  }
  EXPECT_GT(found, 0);
}

TEST(AtariTest, WithoutAleTheIdSaysHowToEnableIt) {
  if (IMAGINE_HAVE_ALE) GTEST_SKIP() << "ALE is compiled in";
  ScopedEnvVar unset("IMAGINE_ROM_DIR", nullptr);
  EXPECT_THROW(default_registry().make(atari_options("pong", "")), UnavailableError);
  const std::string msg = message_of(atari_options("pong", ""));
  EXPECT_NE(msg.find("IMAGINE_WITH_ALE=ON"), std::string::npos) << msg;
  if (const auto dir = test_rom_dir()) {
    // Valid ROMs still end in the same error.
    EXPECT_THROW(default_registry().make(atari_options("pong", *dir)), UnavailableError);
  }
}

// The DreamerV3/IRIS protocol preset is a valid [env] override with the documented values.
struct EnvSectionOnly {
  EnvOptions env;
  template <class V>
  void visit(V& v) {
    v.section("env", env, "Environment");
  }
};

TEST(AtariTest, DreamerV3ProtocolPresetParses) {
  const std::string path = std::string(IMAGINE_SOURCE_DIR) + "/configs/atari_dreamerv3_protocol.toml";
  const auto preset = config::read<EnvSectionOnly>(config::Document::parse(path, {})).env;
  EXPECT_EQ(preset.sticky_action_prob, 0.0);
  EXPECT_EQ(preset.noop_max, 30);
  EXPECT_EQ(preset.resize, ResizeMethod::kBilinear);
  // Everything else keeps STORM's defaults.
  const EnvOptions defaults;
  EXPECT_EQ(preset.frame_skip, defaults.frame_skip);
  EXPECT_EQ(preset.max_pool, defaults.max_pool);
  EXPECT_EQ(preset.image_size, defaults.image_size);
  EXPECT_EQ(defaults.resize, ResizeMethod::kArea);
  EXPECT_EQ(defaults.noop_max, 0);
}

// ---- The ALE backend -------------------------------------------------------------------

struct Rollout {
  std::vector<uint8_t> obs;
  std::vector<float> rewards;
  std::vector<int> flags;  // terminated | truncated << 1 | life_lost << 2
};

Rollout roll(const EnvOptions& options, uint64_t seed, int64_t steps) {
  EnvPtr env = default_registry().make(options);
  std::vector<uint8_t> obs(static_cast<size_t>(env->spec().obs_size()));
  Rng policy(seed + 100);
  Rollout r;
  env->seed(seed);
  env->reset(obs.data());
  r.obs.insert(r.obs.end(), obs.begin(), obs.end());
  for (int64_t i = 0; i < steps; ++i) {
    const StepOutcome out = env->step(policy.uniform_int(0, env->spec().num_actions - 1), obs.data());
    r.obs.insert(r.obs.end(), obs.begin(), obs.end());
    r.rewards.push_back(out.reward);
    r.flags.push_back(out.terminated | out.truncated << 1 | out.life_lost << 2);
    if (out.terminated || out.truncated) env->reset(obs.data());
  }
  return r;
}

TEST(AtariTest, SpecAndMinimalActionSets) {
  REQUIRE_ALE_AND_ROMS(dir);
  EnvPtr pong = default_registry().make(atari_options("pong", *dir));
  const EnvSpec& s = pong->spec();
  EXPECT_EQ(s.id, "atari/pong");
  EXPECT_EQ(s.num_actions, 6);  // NOOP FIRE RIGHT LEFT RIGHTFIRE LEFTFIRE
  EXPECT_EQ(s.action_meanings.front(), "NOOP");
  EXPECT_EQ(s.obs_shape(), (std::vector<int64_t>{3, 64, 64}));
  EXPECT_FLOAT_EQ(s.obs_scale, 1.0f / 255.0f);
  EXPECT_EQ(s.frame_skip, 4);
  EXPECT_EQ(s.max_episode_steps, 27000);
  EXPECT_EQ(default_registry().make(atari_options("breakout", *dir))->spec().num_actions, 4);
  EXPECT_EQ(default_registry().make(atari_options("ms_pacman", *dir))->spec().num_actions, 9);

  EnvOptions gray = atari_options("pong", *dir);
  gray.grayscale = true;
  gray.resize = ResizeMethod::kBilinear;
  gray.image_size = 84;
  EXPECT_EQ(default_registry().make(gray)->spec().obs_shape(), (std::vector<int64_t>{1, 84, 84}));
}

TEST(AtariTest, BreakoutReportsLifeLossWithoutEndingTheEpisode) {
  REQUIRE_ALE_AND_ROMS(dir);
  EnvOptions o = atari_options("breakout", *dir);
  o.sticky_action_prob = 0.0;
  EnvPtr env = default_registry().make(o);
  env->seed(1);
  env->reset(nullptr);
  Rng policy(2);
  int lives_lost = 0;
  for (int i = 0; i < 5000; ++i) {
    const StepOutcome out = env->step(policy.uniform_int(0, 3), nullptr);
    if (out.life_lost) {
      EXPECT_FALSE(out.terminated);
      ++lives_lost;
    }
    if (out.terminated) break;
    ASSERT_FALSE(out.truncated);
  }
  // Five lives: four are lost along the way, the fifth ends the game.
  EXPECT_EQ(lives_lost, 4);
}

TEST(AtariTest, SeedDeterminesEverything) {
  REQUIRE_ALE_AND_ROMS(dir);
  EnvOptions o = atari_options("breakout", *dir);
  o.noop_max = 30;  // random no-op starts and sticky actions both seeded
  const Rollout a = roll(o, 7, 150);
  const Rollout b = roll(o, 7, 150);
  EXPECT_EQ(a.obs, b.obs);
  EXPECT_EQ(a.rewards, b.rewards);
  EXPECT_EQ(a.flags, b.flags);
  const Rollout c = roll(o, 8, 150);
  EXPECT_NE(a.obs, c.obs);
}

TEST(AtariTest, StepCapTruncates) {
  REQUIRE_ALE_AND_ROMS(dir);
  EnvOptions o = atari_options("pong", *dir);
  o.max_episode_steps = 25;
  const Rollout r = roll(o, 3, 60);
  for (size_t i = 0; i < r.flags.size(); ++i) {
    const bool at_cap = (i + 1) % 25 == 0;
    EXPECT_EQ(r.flags[i], at_cap ? 2 : 0) << "step " << i;
  }
}

TEST(AtariTest, ObservationShowsTheScreen) {
  REQUIRE_ALE_AND_ROMS(dir);
  for (ResizeMethod resize : {ResizeMethod::kArea, ResizeMethod::kBilinear}) {
    EnvOptions o = atari_options("pong", *dir);
    o.resize = resize;
    const Rollout r = roll(o, 1, 30);
    // Pong's orange playfield dominates: the mean red value is high, green lower.
    const size_t plane = 64 * 64;
    double red = 0, green = 0;
    for (size_t i = 0; i < plane; ++i) {
      red += r.obs[r.obs.size() - 3 * plane + i];
      green += r.obs[r.obs.size() - 2 * plane + i];
    }
    EXPECT_GT(red / plane, 100.0) << config::enum_name(resize);
    EXPECT_LT(green / plane, red / plane) << config::enum_name(resize);
  }
}

#if IMAGINE_HAVE_ALE
// ALE's screen as RGB planes [3, 210, 160].
std::vector<uint8_t> ale_planes(ale::ALEInterface& ale) {
  std::vector<unsigned char> hwc;
  ale.getScreenRGB(hwc);
  const size_t n = hwc.size() / 3;
  std::vector<uint8_t> planes(hwc.size());
  for (size_t i = 0; i < n; ++i) {
    for (size_t c = 0; c < 3; ++c) planes[c * n + i] = hwc[3 * i + c];
  }
  return planes;
}

// The palette and max-pool fast paths against ALE's own RGB screen, in lockstep with a bare
// ALE (no sticky actions, so both emulators follow the same actions exactly): the unwrapped
// env shows getScreenRGB, frame skip 4 the channel-wise max of the last two frames' screens.
TEST(AtariTest, FramesEqualAlesScreenRgb) {
  REQUIRE_ALE_AND_ROMS(dir);
  for (const char* game : {"pong", "breakout", "ms_pacman"}) {
    for (const int64_t skip : {1, 4}) {
      const std::string rom = atari::find_rom(game, *dir);
      ale::ALEInterface bare;
      bare.setFloat("repeat_action_probability", 0.0f);
      bare.setInt("frame_skip", 1);
      bare.setInt("max_num_frames_per_episode", 0);
      bare.loadROM(rom);
      bare.reset_game();
      const ale::ActionVect actions = bare.getMinimalActionSet();
      FrameSkip env(std::make_unique<atari::AleEnv>("atari/test", rom, 0.0), skip, true);
      std::vector<uint8_t> obs(static_cast<size_t>(env.spec().obs_size()));
      env.reset(obs.data());
      ASSERT_EQ(obs, ale_planes(bare)) << game << " after reset";
      Rng policy(3);
      for (int step = 0; step < 150; ++step) {
        const int64_t a = policy.uniform_int(0, static_cast<int64_t>(actions.size()) - 1);
        const StepOutcome out = env.step(a, obs.data());
        std::vector<uint8_t> previous, want;
        for (int64_t f = 0; f < skip; ++f) {
          bare.act(actions[static_cast<size_t>(a)]);
          previous = std::move(want);
          want = ale_planes(bare);
        }
        if (skip > 1) {
          std::transform(want.begin(), want.end(), previous.begin(), want.begin(),
                         [](uint8_t x, uint8_t y) { return std::max(x, y); });
        }
        ASSERT_EQ(obs, want) << game << " skip " << skip << " step " << step;
        if (out.terminated) break;
      }
    }
  }
}
#endif

TEST(AtariConformance, Pong) {
  REQUIRE_ALE_AND_ROMS(dir);
  EnvOptions o = atari_options("pong", *dir);
  o.max_episode_steps = 80;  // random Pong lasts ~800 steps; the cap keeps this fast
  testing::ConformanceOptions checks;
  checks.steps = 200;
  testing::check_env_conformance(o, checks);
}

TEST(AtariConformance, Breakout) {
  REQUIRE_ALE_AND_ROMS(dir);
  testing::ConformanceOptions checks;
  checks.steps = 350;  // random Breakout episodes end within ~250 steps
  testing::check_env_conformance(atari_options("breakout", *dir), checks);
}

}  // namespace
}  // namespace imagine::envs
