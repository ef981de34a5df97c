#pragma once
// Image resizing of uint8 C x H x W observations, and the wrapper that applies it.
#include <cstdint>
#include <string>
#include <vector>

#include "imagine/envs/env.h"
#include "imagine/envs/env_options.h"  // ResizeMethod

namespace imagine::envs {

// A precomputed resampler from in_h x in_w to out_h x out_w planes.
class Resizer {
 public:
  Resizer(int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w, ResizeMethod method);
  // in: [channels, in_h, in_w] uint8 -> out: [channels, out_h, out_w] uint8. With
  // `changed_rows` (one flag per input row; area only), output rows whose footprint holds no
  // changed input row are left as they are in `out`: the caller keeps the previous result there.
  void resize(const uint8_t* in, uint8_t* out, int64_t channels, const uint8_t* changed_rows = nullptr);

  // The taps of one output index along an axis: input indices [first, first + weights.size()).
  struct Taps {
    int64_t first = 0;
    std::vector<float> weights;   // weights summing to 1 (area: overlap / in)
    std::vector<uint32_t> overlap;  // area: overlap in units of 1/out of an input pixel
    std::vector<int32_t> fixed;   // bilinear: PIL fixed-point weights
  };
  const std::vector<Taps>& rows() const { return rows_; }
  const std::vector<Taps>& cols() const { return cols_; }

 private:
  void resize_area(const uint8_t* in, uint8_t* out, const uint8_t* changed_rows);
  void resize_bilinear(const uint8_t* in, uint8_t* out);
  int64_t in_h_, in_w_, out_h_, out_w_;
  ResizeMethod method_;
  std::vector<Taps> rows_, cols_;
  template <class Acc>
  void area_rows(const uint8_t* in, uint8_t* out, const uint8_t* changed_rows);
  // Area: column taps padded to a common count (zero overlaps) for a fixed inner loop.
  int64_t col_taps_ = 0;
  std::vector<int64_t> col_first_;
  std::vector<uint32_t> col_overlap_;  // [out_w, col_taps_]
  std::vector<uint32_t> acc_;          // one vertically summed row of in_w values
  std::vector<uint16_t> acc16_;        // the same when in_h * 255 fits 16 bits
  uint64_t area_magic_ = 0;            // reciprocal of 2 * in_h * in_w for exact rounding
  std::vector<uint8_t> horizontal_;   // bilinear: in_h x out_w intermediate
};

// Resizes every observation plane of the inner env to height x width. Area resizing is
// incremental: the inner env's frames alternate between two buffers, and only output rows
// whose input rows differ from the previous frame's are recomputed (on Atari most rows stay
// the same from one step to the next, and the resize is most of the wrapper stack's cost).
class Resize : public Wrapper {
 public:
  Resize(EnvPtr inner, int64_t height, int64_t width, ResizeMethod method);
  void reset(uint8_t* obs) override;
  StepOutcome step(int64_t action, uint8_t* obs) override;

 private:
  uint8_t* spare();
  // Resizes raw_[current_] into obs (through out_ when incremental).
  void output(uint8_t* obs);
  Resizer resizer_;
  bool incremental_;
  std::vector<uint8_t> raw_[2];
  int current_ = 0;
  bool have_previous_ = false;  // out_ holds the resize of raw_[current_]
  std::vector<uint8_t> out_;
  std::vector<uint8_t> changed_rows_;
};

}  // namespace imagine::envs
