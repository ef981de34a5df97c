#include "imagine/envs/atari/ale_env.h"

#include <ale/ale_interface.hpp>

#include <c10/util/Exception.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "imagine/core/error.h"
#include "imagine/envs/atari/roms.h"
#include "imagine/envs/wrappers/grayscale.h"
#include "imagine/envs/wrappers/resize.h"
#include "imagine/envs/wrappers/wrappers.h"

namespace imagine::envs::atari {

struct AleEnv::Impl {
  std::unique_ptr<ale::ALEInterface> ale;
  std::vector<ale::Action> actions;  // the minimal set
  // 0x00RRGGBB of each palette index, looked up once per ROM load.
  std::array<uint32_t, 256> palette{};
  std::vector<uint8_t> kept;  // palette indices of the frame kept for max-pooling
};

namespace {
// ALE's screen is 210 x 160 for every supported game.
constexpr int64_t kScreenHeight = 210;
constexpr int64_t kScreenWidth = 160;

// ALE's random_seed is a non-negative int; spread the 64-bit seed over it.
int ale_seed(uint64_t seed) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<int>(z & 0x7fffffff);
}
}  // namespace

AleEnv::AleEnv(const std::string& id, const std::string& rom_path, double repeat_action_probability)
    : impl_(std::make_unique<Impl>()), rom_path_(rom_path), repeat_action_probability_(repeat_action_probability) {
  ale::Logger::setMode(ale::Logger::Error);  // no banner or per-ROM chatter on stderr
  impl_->ale = std::make_unique<ale::ALEInterface>();
  load(0);
  spec_.id = id;
  spec_.channels = 3;
  spec_.height = kScreenHeight;
  spec_.width = kScreenWidth;
  spec_.obs_scale = 1.0f / 255.0f;
  spec_.frame_skip = 1;
  impl_->actions = impl_->ale->getMinimalActionSet();
  spec_.num_actions = static_cast<int64_t>(impl_->actions.size());
  for (ale::Action a : impl_->actions) {
    // "PLAYER_A_UPFIRE" -> "UPFIRE", the names Gymnasium uses.
    std::string name = ale::action_to_string(a);
    const std::string prefix = "PLAYER_A_";
    if (name.compare(0, prefix.size(), prefix) == 0) name = name.substr(prefix.size());
    spec_.action_meanings.push_back(name);
  }
  const ale::ALEScreen& screen = impl_->ale->getScreen();
  TORCH_CHECK(static_cast<int64_t>(screen.height()) == kScreenHeight &&
                  static_cast<int64_t>(screen.width()) == kScreenWidth,
              "unexpected ALE screen ", screen.height(), "x", screen.width());
}

AleEnv::~AleEnv() = default;

void AleEnv::load(uint64_t seed) {
  ale::ALEInterface& ale = *impl_->ale;
  ale.setInt("random_seed", ale_seed(seed));
  ale.setFloat("repeat_action_probability", static_cast<float>(repeat_action_probability_));
  ale.setInt("frame_skip", 1);
  ale.setInt("max_num_frames_per_episode", 0);  // the step cap is a wrapper's job
  ale.loadROM(rom_path_);
  const ale::ColourPalette& palette = ale.theOSystem->colourPalette();
  // As ALE's getScreenRGB looks them up.
  for (int i = 0; i < 256; ++i) impl_->palette[static_cast<size_t>(i)] = palette.getRGB(i) & 0xffffff;
  lives_ = ale.lives();
}

void AleEnv::seed(uint64_t seed) { load(seed); }

void AleEnv::reset(uint8_t* obs) {
  impl_->ale->reset_game();
  lives_ = impl_->ale->lives();
  if (obs) current_frame(obs);
}

StepOutcome AleEnv::step(int64_t action, uint8_t* obs) {
  TORCH_CHECK(action >= 0 && action < spec_.num_actions, "action ", action, " out of range [0, ", spec_.num_actions,
              ")");
  ale::ALEInterface& ale = *impl_->ale;
  StepOutcome out;
  out.reward = static_cast<float>(ale.act(impl_->actions[static_cast<size_t>(action)]));
  out.terminated = ale.game_over(/*with_truncation=*/false);
  const int lives = ale.lives();
  out.life_lost = lives < lives_ && !out.terminated;
  lives_ = lives;
  if (obs) current_frame(obs);
  return out;
}

namespace {
constexpr int64_t kScreenPixels = kScreenHeight * kScreenWidth;
static_assert(kScreenPixels % 8 == 0, "the frame loops go 8 pixels at a time");
constexpr uint64_t kBytes8 = 0x0101010101010101ULL;

uint64_t load8(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Writes one palette colour to 8 pixels of each plane. Atari screens are mostly runs of one
// colour, so whole 8-pixel blocks of one index are common and take 3 stores instead of 24.
void fill8(uint32_t rgb, uint8_t* r, uint8_t* g, uint8_t* b) {
  const uint64_t rr = ((rgb >> 16) & 0xff) * kBytes8, gg = ((rgb >> 8) & 0xff) * kBytes8, bb = (rgb & 0xff) * kBytes8;
  std::memcpy(r, &rr, 8);
  std::memcpy(g, &gg, 8);
  std::memcpy(b, &bb, 8);
}

// 8 pixels from palette indices (`indices` holds the same 8 bytes as `screen`).
void convert8(uint64_t indices, const uint8_t* screen, const uint32_t* palette, uint8_t* r, uint8_t* g,
              uint8_t* b) {
  if (indices == (indices & 0xff) * kBytes8) {
    fill8(palette[indices & 0xff], r, g, b);
    return;
  }
  for (int j = 0; j < 8; ++j) {
    const uint32_t rgb = palette[screen[j]];
    r[j] = static_cast<uint8_t>(rgb >> 16);
    g[j] = static_cast<uint8_t>(rgb >> 8);
    b[j] = static_cast<uint8_t>(rgb);
  }
}
}  // namespace

void AleEnv::current_frame(uint8_t* obs) {
  // Palette indices to RGB planes in one pass.
  const ale::pixel_t* screen = impl_->ale->getScreen().getArray();
  const uint32_t* palette = impl_->palette.data();
  uint8_t* r = obs;
  uint8_t* g = obs + kScreenPixels;
  uint8_t* b = obs + 2 * kScreenPixels;
  for (int64_t i = 0; i < kScreenPixels; i += 8) convert8(load8(screen + i), screen + i, palette, r + i, g + i, b + i);
}

bool AleEnv::keep_frame() {
  const ale::pixel_t* screen = impl_->ale->getScreen().getArray();
  impl_->kept.assign(screen, screen + kScreenPixels);
  return true;
}

void AleEnv::pooled_frame(uint8_t* obs) {
  // Max-pooling and palette lookup fused: most 8-pixel blocks agree between the two frames
  // and need only the lookup; the others take the channel-wise max of both colours.
  const ale::pixel_t* screen = impl_->ale->getScreen().getArray();
  const uint8_t* kept = impl_->kept.data();
  const uint32_t* palette = impl_->palette.data();
  uint8_t* r = obs;
  uint8_t* g = obs + kScreenPixels;
  uint8_t* b = obs + 2 * kScreenPixels;
  for (int64_t i = 0; i < kScreenPixels; i += 8) {
    const uint64_t now = load8(screen + i);
    if (now == load8(kept + i)) {
      convert8(now, screen + i, palette, r + i, g + i, b + i);
      continue;
    }
    for (int64_t j = i; j < i + 8; ++j) {
      const uint32_t c = palette[screen[j]], before = palette[kept[j]];
      r[j] = std::max(static_cast<uint8_t>(c >> 16), static_cast<uint8_t>(before >> 16));
      g[j] = std::max(static_cast<uint8_t>(c >> 8), static_cast<uint8_t>(before >> 8));
      b[j] = std::max(static_cast<uint8_t>(c), static_cast<uint8_t>(before));
    }
  }
}

EnvPtr make_atari_env(const EnvOptions& options) {
  const std::string game = game_of_id(options.id);
  const std::string rom = find_rom(game, options.rom_dir);
  const ResizeMethod method = options.resize;
  const double sticky = options.sticky_action_prob < 0 ? kDefaultStickyActionProb : options.sticky_action_prob;
  EnvPtr env = std::make_unique<AleEnv>(options.id, rom, sticky);
  if (options.noop_max > 0) env = std::make_unique<NoopReset>(std::move(env), options.noop_max);
  env = std::make_unique<FrameSkip>(std::move(env), options.frame_skip, options.max_pool);
  if (options.grayscale) env = std::make_unique<Grayscale>(std::move(env));
  env = std::make_unique<Resize>(std::move(env), options.image_size, options.image_size, method);
  const int64_t cap = options.max_episode_steps > 0 ? options.max_episode_steps : kDefaultMaxEpisodeSteps;
  return std::make_unique<TimeLimit>(std::move(env), cap);
}

}  // namespace imagine::envs::atari
