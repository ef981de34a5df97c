#pragma once
// RGB to one luma channel.
#include <vector>

#include "imagine/envs/env.h"

namespace imagine::envs {

// ITU-R BT.601 luma computed as OpenCV's COLOR_RGB2GRAY does for uint8:
// Y = (4899 R + 9617 G + 1868 B + 8192) >> 14, i.e. 0.299 R + 0.587 G + 0.114 B rounded.
// (ALE's own grayscale screen instead looks the luma up in its palette table.)
// rgb: [3, n] planes -> gray: [n].
void rgb_to_gray(const uint8_t* rgb, uint8_t* gray, int64_t n);

// Turns the inner env's 3-channel RGB observations into 1-channel luma.
class Grayscale : public Wrapper {
 public:
  explicit Grayscale(EnvPtr inner);
  void reset(uint8_t* obs) override;
  StepOutcome step(int64_t action, uint8_t* obs) override;

 private:
  std::vector<uint8_t> rgb_;
};

}  // namespace imagine::envs
