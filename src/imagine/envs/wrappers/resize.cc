#include "imagine/envs/wrappers/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "imagine/core/error.h"

namespace imagine::envs {

namespace {
constexpr int kPrecisionBits = 22;  // PIL's fixed point for 8-bit images: 32 - 8 - 2

// Exact area weights: output pixel x covers [x*in/out, (x+1)*in/out) of the input; in units
// of 1/out every boundary is an integer, so overlaps are exact.
std::vector<Resizer::Taps> area_taps(int64_t in, int64_t out) {
  std::vector<Resizer::Taps> taps(static_cast<size_t>(out));
  for (int64_t x = 0; x < out; ++x) {
    const int64_t start = x * in, end = (x + 1) * in;
    Resizer::Taps& t = taps[static_cast<size_t>(x)];
    t.first = start / out;
    for (int64_t j = t.first; j * out < end; ++j) {
      const int64_t overlap = std::min(end, (j + 1) * out) - std::max(start, j * out);
      t.overlap.push_back(static_cast<uint32_t>(overlap));
      t.weights.push_back(static_cast<float>(static_cast<double>(overlap) / static_cast<double>(in)));
    }
  }
  return taps;
}

double triangle(double x) {
  x = std::abs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// PIL's coefficients for the antialiased bilinear filter along one axis.
std::vector<Resizer::Taps> bilinear_taps(int64_t in, int64_t out) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double filter_scale = std::max(scale, 1.0);
  const double support = 1.0 * filter_scale;  // the triangle's support is 1
  std::vector<Resizer::Taps> taps(static_cast<size_t>(out));
  for (int64_t x = 0; x < out; ++x) {
    const double center = (static_cast<double>(x) + 0.5) * scale;
    // Truncation toward zero, then clamping, as Pillow does.
    const int64_t lo = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
    const int64_t hi = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in);
    std::vector<double> w;
    double total = 0.0;
    for (int64_t j = lo; j < hi; ++j) {
      w.push_back(triangle((static_cast<double>(j) - center + 0.5) / filter_scale));
      total += w.back();
    }
    Resizer::Taps& t = taps[static_cast<size_t>(x)];
    t.first = lo;
    for (double v : w) {
      const double k = total != 0.0 ? v / total : v;
      const double scaled = k * static_cast<double>(1 << kPrecisionBits);
      t.fixed.push_back(static_cast<int32_t>(scaled < 0 ? scaled - 0.5 : scaled + 0.5));
      t.weights.push_back(static_cast<float>(k));
    }
  }
  return taps;
}

inline uint8_t clip8(int32_t v) {
  const int32_t shifted = v >> kPrecisionBits;
  return static_cast<uint8_t>(shifted < 0 ? 0 : shifted > 255 ? 255 : shifted);
}
}  // namespace

Resizer::Resizer(int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w, ResizeMethod method)
    : in_h_(in_h), in_w_(in_w), out_h_(out_h), out_w_(out_w), method_(method) {
  if (in_h < 1 || in_w < 1 || out_h < 1 || out_w < 1) {
    throw UserError("cannot resize " + std::to_string(in_h) + "x" + std::to_string(in_w) + " to " +
                    std::to_string(out_h) + "x" + std::to_string(out_w));
  }
  if (method == ResizeMethod::kArea) {
    // Sums of overlap products reach 255 * in_h * in_w (32 bits), and the exact rounding
    // below needs (2 * 255 + 1) * area * 2 * area < 2^55.
    if (in_h * in_w > (int64_t{1} << 22)) {
      throw UserError("area resize supports inputs up to 2^22 pixels, got " + std::to_string(in_h) + "x" +
                      std::to_string(in_w));
    }
    rows_ = area_taps(in_h, out_h);
    cols_ = area_taps(in_w, out_w);
    for (const Taps& t : cols_) col_taps_ = std::max<int64_t>(col_taps_, static_cast<int64_t>(t.overlap.size()));
    col_overlap_.assign(static_cast<size_t>(out_w * col_taps_), 0);
    for (int64_t x = 0; x < out_w; ++x) {
      const Taps& t = cols_[static_cast<size_t>(x)];
      // Shift the window left where it would run past the edge; the extra taps weigh 0.
      const int64_t first = std::min(t.first, in_w - col_taps_);
      col_first_.push_back(first);
      for (size_t k = 0; k < t.overlap.size(); ++k) {
        col_overlap_[static_cast<size_t>(x * col_taps_ + (t.first - first)) + k] = t.overlap[k];
      }
    }
    acc_.resize(static_cast<size_t>(in_w));
    acc16_.resize(static_cast<size_t>(in_w));
    // floor(n / (2 area)) == (n * magic) >> 55 for every n = 2 sum + area, sum <= 255 area:
    // magic = ceil(2^55 / (2 area)) overshoots by e < 2 area, and n * e < 2^55.
    const uint64_t two_area = 2 * static_cast<uint64_t>(in_h * in_w);
    area_magic_ = ((uint64_t{1} << 55) + two_area - 1) / two_area;
  } else {
    rows_ = bilinear_taps(in_h, out_h);
    cols_ = bilinear_taps(in_w, out_w);
    horizontal_.resize(static_cast<size_t>(in_h * out_w));
  }
}

void Resizer::resize(const uint8_t* in, uint8_t* out, int64_t channels, const uint8_t* changed_rows) {
  for (int64_t c = 0; c < channels; ++c) {
    if (method_ == ResizeMethod::kArea) resize_area(in + c * in_h_ * in_w_, out + c * out_h_ * out_w_, changed_rows);
    else resize_bilinear(in + c * in_h_ * in_w_, out + c * out_h_ * out_w_);
  }
}

namespace {
// One output row of the horizontal area pass with `Taps` taps per pixel (a compile-time
// count where it is small, so that the loop unrolls); rounds sum / area half up exactly as
// floor((2 sum + area) * magic >> 55), see the constructor.
template <int Taps, class Acc>
void area_columns(const Acc* acc, const int64_t* first, const uint32_t* overlap, int64_t taps, int64_t out_w,
                  uint64_t area, uint64_t magic, uint8_t* dst) {
  const int64_t n = Taps > 0 ? Taps : taps;
  for (int64_t x = 0; x < out_w; ++x) {
    const Acc* a = acc + first[x];
    const uint32_t* w = overlap + x * n;
    uint32_t sum = 0;
    for (int64_t k = 0; k < n; ++k) sum += w[k] * a[k];
    dst[x] = static_cast<uint8_t>(((2 * static_cast<uint64_t>(sum) + area) * magic) >> 55);
  }
}
}  // namespace

template <class Acc>
void Resizer::area_rows(const uint8_t* in, uint8_t* out, const uint8_t* changed_rows) {
  // Locals, so that stores through the uint8_t output cannot force members to be reloaded.
  Acc* acc = std::is_same<Acc, uint16_t>::value ? reinterpret_cast<Acc*>(acc16_.data())
                                                 : reinterpret_cast<Acc*>(acc_.data());
  const int64_t in_w = in_w_, out_w = out_w_, taps = col_taps_;
  const int64_t* col_first = col_first_.data();
  const uint32_t* col_overlap = col_overlap_.data();
  const uint64_t area = static_cast<uint64_t>(in_h_ * in_w_), magic = area_magic_;
  for (int64_t y = 0; y < out_h_; ++y) {
    // Vertical: overlap-weighted sums of whole input rows (contiguous, vectorisable).
    const Taps& t = rows_[static_cast<size_t>(y)];
    const size_t n_rows = t.overlap.size();
    if (changed_rows && std::none_of(changed_rows + t.first, changed_rows + t.first + static_cast<int64_t>(n_rows),
                                     [](uint8_t c) { return c != 0; })) {
      continue;
    }
    const uint8_t* src = in + t.first * in_w;
    const Acc w0 = static_cast<Acc>(t.overlap[0]);
    for (int64_t x = 0; x < in_w; ++x) acc[x] = static_cast<Acc>(w0 * src[x]);
    for (size_t k = 1; k < n_rows; ++k) {
      const Acc w = static_cast<Acc>(t.overlap[k]);
      const uint8_t* row = src + static_cast<int64_t>(k) * in_w;
      for (int64_t x = 0; x < in_w; ++x) acc[x] = static_cast<Acc>(acc[x] + w * row[x]);
    }
    // Horizontal: the overlap products total in_h * in_w, so the mean is sum / area.
    uint8_t* dst = out + y * out_w;
    switch (taps) {
      case 2: area_columns<2>(acc, col_first, col_overlap, taps, out_w, area, magic, dst); break;
      case 3: area_columns<3>(acc, col_first, col_overlap, taps, out_w, area, magic, dst); break;
      case 4: area_columns<4>(acc, col_first, col_overlap, taps, out_w, area, magic, dst); break;
      default: area_columns<0>(acc, col_first, col_overlap, taps, out_w, area, magic, dst); break;
    }
  }
}

void Resizer::resize_area(const uint8_t* in, uint8_t* out, const uint8_t* changed_rows) {
  // 16-bit column sums are enough (and twice as wide per vector) when in_h * 255 < 2^16.
  if (in_h_ * 255 < 65536) area_rows<uint16_t>(in, out, changed_rows);
  else area_rows<uint32_t>(in, out, changed_rows);
}

void Resizer::resize_bilinear(const uint8_t* in, uint8_t* out) {
  uint8_t* h = horizontal_.data();
  for (int64_t y = 0; y < in_h_; ++y) {
    const uint8_t* src = in + y * in_w_;
    uint8_t* dst = h + y * out_w_;
    for (int64_t x = 0; x < out_w_; ++x) {
      const Taps& t = cols_[static_cast<size_t>(x)];
      int32_t sum = 1 << (kPrecisionBits - 1);
      for (size_t k = 0; k < t.fixed.size(); ++k) sum += static_cast<int32_t>(src[t.first + k]) * t.fixed[k];
      dst[x] = clip8(sum);
    }
  }
  for (int64_t y = 0; y < out_h_; ++y) {
    const Taps& t = rows_[static_cast<size_t>(y)];
    uint8_t* dst = out + y * out_w_;
    for (int64_t x = 0; x < out_w_; ++x) {
      int32_t sum = 1 << (kPrecisionBits - 1);
      for (size_t k = 0; k < t.fixed.size(); ++k) {
        sum += static_cast<int32_t>(h[(t.first + static_cast<int64_t>(k)) * out_w_ + x]) * t.fixed[k];
      }
      dst[x] = clip8(sum);
    }
  }
}

namespace {
uint64_t load8(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// flags[r] = whether row r of any of the `channels` h x w planes differs between a and b.
void mark_changed_rows(const uint8_t* a, const uint8_t* b, int64_t channels, int64_t h, int64_t w,
                       uint8_t* flags) {
  for (int64_t r = 0; r < h; ++r) {
    uint64_t diff = 0;
    for (int64_t c = 0; c < channels; ++c) {
      const uint8_t* x = a + (c * h + r) * w;
      const uint8_t* y = b + (c * h + r) * w;
      int64_t i = 0;
      for (; i + 8 <= w; i += 8) diff |= load8(x + i) ^ load8(y + i);
      for (; i < w; ++i) diff |= static_cast<uint64_t>(x[i] ^ y[i]);
    }
    flags[r] = diff != 0;
  }
}
}  // namespace

Resize::Resize(EnvPtr inner, int64_t height, int64_t width, ResizeMethod method)
    : Wrapper(std::move(inner)),
      resizer_(inner_->spec().height, inner_->spec().width, height, width, method),
      incremental_(method == ResizeMethod::kArea) {
  const auto raw_size = static_cast<size_t>(inner_->spec().obs_size());
  raw_[0].resize(raw_size);
  if (incremental_) {
    raw_[1].resize(raw_size);
    out_.resize(static_cast<size_t>(inner_->spec().channels * height * width));
    changed_rows_.resize(static_cast<size_t>(inner_->spec().height));
  }
  spec_.height = height;
  spec_.width = width;
}

void Resize::output(uint8_t* obs) {
  const uint8_t* frame = raw_[current_].data();
  if (!incremental_) {
    resizer_.resize(frame, obs, spec_.channels);
    return;
  }
  const uint8_t* changed = nullptr;
  if (have_previous_) {
    const EnvSpec& in = inner_->spec();
    mark_changed_rows(frame, raw_[1 - current_].data(), in.channels, in.height, in.width, changed_rows_.data());
    changed = changed_rows_.data();
  }
  resizer_.resize(frame, out_.data(), spec_.channels, changed);
  have_previous_ = true;
  std::memcpy(obs, out_.data(), out_.size());
}

// The inner env writes into the spare buffer, which becomes current only once it succeeded:
// if it throws, raw_[current_] and out_ still belong together.
uint8_t* Resize::spare() { return raw_[incremental_ ? 1 - current_ : 0].data(); }

void Resize::reset(uint8_t* obs) {
  if (!obs) return inner_->reset(nullptr);
  inner_->reset(spare());
  if (incremental_) current_ = 1 - current_;
  output(obs);
}

StepOutcome Resize::step(int64_t action, uint8_t* obs) {
  if (!obs) return inner_->step(action, nullptr);
  const StepOutcome out = inner_->step(action, spare());
  if (incremental_) current_ = 1 - current_;
  output(obs);
  return out;
}

}  // namespace imagine::envs
