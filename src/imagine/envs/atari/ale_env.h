#pragma once
// Atari 2600 games through the Arcade Learning Environment (compiled only with ALE).
#include <memory>
#include <string>
#include <vector>

#include "imagine/envs/env.h"
#include "imagine/envs/env_options.h"
#include "imagine/envs/wrappers/frame_skip.h"

namespace imagine::envs::atari {

// One emulator frame per step: ALE with frame_skip = 1, the minimal action set and
// sticky actions drawn by ALE each frame. Observations are the raw screen as RGB planes,
// [3, 210, 160] uint8; as a FrameSource it renders only when asked. life_lost is reported
// when the life counter drops and the game goes on.
class AleEnv : public Env, public FrameSource {
 public:
  // `rom_path` must already be validated (find_rom): ALE exits on ROMs it does not know.
  AleEnv(const std::string& id, const std::string& rom_path, double repeat_action_probability);
  ~AleEnv() override;
  const EnvSpec& spec() const override { return spec_; }
  // Sets ALE's random_seed and reloads the ROM, so that everything after is determined.
  void seed(uint64_t seed) override;
  void reset(uint8_t* obs) override;
  StepOutcome step(int64_t action, uint8_t* obs) override;
  void current_frame(uint8_t* obs) override;
  bool keep_frame() override;
  void pooled_frame(uint8_t* obs) override;

 private:
  struct Impl;
  void load(uint64_t seed);
  std::unique_ptr<Impl> impl_;
  EnvSpec spec_;
  std::string rom_path_;
  double repeat_action_probability_;
  int lives_ = 0;
};

// The full Atari 100k stack for options.id = "atari/<game>": ROM lookup, AleEnv, no-op
// starts, frame skip with max-pool, optional grayscale, resize, step cap (specs/environments.md).
EnvPtr make_atari_env(const EnvOptions& options);

// Default sticky-action probability and episode cap (STORM's settings).
constexpr double kDefaultStickyActionProb = 0.25;
constexpr int64_t kDefaultMaxEpisodeSteps = 27000;

}  // namespace imagine::envs::atari
