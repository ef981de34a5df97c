#include "imagine/envs/wrappers/grayscale.h"

#include "imagine/core/error.h"

namespace imagine::envs {

void rgb_to_gray(const uint8_t* rgb, uint8_t* gray, int64_t n) {
  const uint8_t* r = rgb;
  const uint8_t* g = rgb + n;
  const uint8_t* b = rgb + 2 * n;
  for (int64_t i = 0; i < n; ++i) {
    gray[i] = static_cast<uint8_t>((4899u * r[i] + 9617u * g[i] + 1868u * b[i] + 8192u) >> 14);
  }
}

Grayscale::Grayscale(EnvPtr inner) : Wrapper(std::move(inner)), rgb_(static_cast<size_t>(inner_->spec().obs_size())) {
  if (inner_->spec().channels != 3) {
    throw UserError("grayscale needs an RGB observation, but '" + spec_.id + "' has " +
                    std::to_string(inner_->spec().channels) + " channels");
  }
  spec_.channels = 1;
}

void Grayscale::reset(uint8_t* obs) {
  inner_->reset(obs ? rgb_.data() : nullptr);
  if (obs) rgb_to_gray(rgb_.data(), obs, spec_.height * spec_.width);
}

StepOutcome Grayscale::step(int64_t action, uint8_t* obs) {
  const StepOutcome out = inner_->step(action, obs ? rgb_.data() : nullptr);
  if (obs) rgb_to_gray(rgb_.data(), obs, spec_.height * spec_.width);
  return out;
}

}  // namespace imagine::envs
