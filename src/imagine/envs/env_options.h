#pragma once
// Options of every environment id ([env] in a config, or --set env.key=value).
// Game-specific keys are ignored by games that do not use them; values of 0 or -1 where
// documented mean "the game's own default" (specs/environments.md).
#include <cstdint>
#include <string>

#include "imagine/core/config.h"

namespace imagine::envs {

enum class Observation { kSymbolic, kRgb };
constexpr config::EnumNames<Observation, 2> enum_names(Observation) {
  return {{{Observation::kSymbolic, "symbolic"}, {Observation::kRgb, "rgb"}}};
}

enum class ResizeMethod {
  // Exact area averaging: each output pixel is the area-weighted mean of the input pixels
  // its footprint covers, for any ratio (for shrinking this is what OpenCV's INTER_AREA
  // computes, there in float). Computed exactly in integers (overlaps are multiples of
  // 1/out) and rounded to nearest, halves up; OpenCV's float sums may differ by one where
  // the mean lies within float error of a half.
  kArea,
  // PIL's BILINEAR with antialiasing: a triangle filter whose support grows with the
  // downscale factor, horizontal pass then vertical, each in PIL's 22-bit fixed point with
  // the intermediate rounded to uint8 (bit-exact with Pillow's Image.resize).
  kBilinear,
};
constexpr config::EnumNames<ResizeMethod, 2> enum_names(ResizeMethod) {
  return {{{ResizeMethod::kArea, "area"}, {ResizeMethod::kBilinear, "bilinear"}}};
}

struct EnvOptions {
  std::string id = "minatar/breakout";
  Observation obs = Observation::kSymbolic;
  int64_t image_size = 64;
  double sticky_action_prob = -1.0;
  int64_t max_episode_steps = 0;
  bool minimal_actions = false;
  bool difficulty_ramping = true;
  // Atari (ALE) preprocessing; defaults are STORM's.
  std::string rom_dir = "";
  int64_t frame_skip = 4;
  bool max_pool = true;
  ResizeMethod resize = ResizeMethod::kArea;
  bool grayscale = false;
  int64_t noop_max = 0;

  template <class V>
  void visit(V& v) {
    v.field("id", id, {"environment id; `imagine envs list` shows them all"});
    v.field("obs", obs, {"observation: binary/fractional planes, or an RGB picture (Atari: always RGB)"});
    v.field("image_size", image_size, {"side of RGB observations in pixels", config::Range{8, 1024}});
    v.field("sticky_action_prob", sticky_action_prob,
            {"probability of repeating the previous action; -1 = the game's default (MinAtar 0.1, "
             "MiniPacman 0, Atari 0.25)",
             config::Range{-1, 1}});
    v.field("max_episode_steps", max_episode_steps,
            {"truncate episodes after this many agent steps; 0 = the game's default (built-in 10000, "
             "MiniPacman 3000, Atari 27000)",
             config::Range{0, 1e9}});
    v.field("minimal_actions", minimal_actions, {"MinAtar: use the game's minimal action set instead of all 6"});
    v.field("difficulty_ramping", difficulty_ramping, {"MinAtar: let Asterix, Seaquest and Space Invaders speed up"});
    v.field("rom_dir", rom_dir, {"Atari: folder of ROM files (else $IMAGINE_ROM_DIR)"});
    v.field("frame_skip", frame_skip, {"Atari: emulator frames per agent step (action repeated)", config::Range{1, 16}});
    v.field("max_pool", max_pool, {"Atari: observation is the element-wise max of the last two frames"});
    v.field("resize", resize, {"Atari: 'area' (exact area averaging, STORM) or 'bilinear' (antialiased, "
                               "DreamerV3/IRIS)"});
    v.field("grayscale", grayscale, {"Atari: one luminance channel instead of RGB"});
    v.field("noop_max", noop_max, {"Atari: up to this many no-op steps after reset (30 in the DreamerV3/IRIS "
                                   "protocol)", config::Range{0, 1000}});
  }
};

}  // namespace imagine::envs
