#include "imagine/core/chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "imagine/core/error.h"
#include "imagine/core/media.h"

// stb_easy_font has unused static helpers; it is a third-party header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

namespace imagine {

namespace {
using Rgb = std::array<uint8_t, 3>;
const Rgb kBlack{0, 0, 0}, kGrey{220, 220, 220}, kWhite{255, 255, 255};
const std::array<Rgb, 8> kPalette = {{{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
                                      {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127}}};

class Canvas {
 public:
  Canvas(int w, int h) : w_(w), h_(h), pixels_(static_cast<size_t>(w * h * 3), 255) {}
  void set(int x, int y, const Rgb& c) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
    for (int k = 0; k < 3; ++k) pixels_[static_cast<size_t>((k * h_ + y) * w_ + x)] = c[static_cast<size_t>(k)];
  }
  void rect(int x0, int y0, int x1, int y1, const Rgb& c) {
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) set(x, y, c);
  }
  // A line of the given thickness (Bresenham with a square brush).
  void line(double x0, double y0, double x1, double y1, const Rgb& c, int thick = 2) {
    const int steps = static_cast<int>(std::max(std::abs(x1 - x0), std::abs(y1 - y0))) + 1;
    for (int i = 0; i <= steps; ++i) {
      const double t = static_cast<double>(i) / steps;
      const int x = static_cast<int>(std::lround(x0 + t * (x1 - x0))), y = static_cast<int>(std::lround(y0 + t * (y1 - y0)));
      rect(x - thick / 2, y - thick / 2, x - thick / 2 + thick, y - thick / 2 + thick, c);
    }
  }
  // Text at (x, y) top-left, scaled by an integer factor.
  void text(int x, int y, const std::string& s, const Rgb& c, int scale = 1, bool vertical = false) {
    static char buffer[60000];
    const int quads = stb_easy_font_print(0, 0, const_cast<char*>(s.c_str()), nullptr, buffer, sizeof buffer);
    for (int q = 0; q < quads; ++q) {
      const float* v = reinterpret_cast<const float*>(buffer + q * 64);  // 4 vertices x 16 bytes
      const int qx0 = static_cast<int>(v[0]), qy0 = static_cast<int>(v[1]);
      const int qx1 = static_cast<int>(v[8]), qy1 = static_cast<int>(v[9]);
      for (int yy = qy0 * scale; yy < qy1 * scale; ++yy)
        for (int xx = qx0 * scale; xx < qx1 * scale; ++xx) {
          if (vertical) set(x + yy, y - xx, c);
          else set(x + xx, y + yy, c);
        }
    }
  }
  static int text_width(const std::string& s) { return stb_easy_font_width(const_cast<char*>(s.c_str())); }
  Frame frame() const { return Frame{3, h_, w_, pixels_}; }

 private:
  int w_, h_;
  std::vector<uint8_t> pixels_;
};

// Round tick spacing: 1, 2 or 5 times a power of ten, about `target` ticks over the range.
double nice_step(double range, int target) {
  const double raw = range / target;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

std::string tick_label(double v, double step) {
  if (std::abs(v) < 1e-9 * step) v = 0;  // a tick at zero reached by adding steps: no "-0.0"
  if (std::abs(v) >= 1e6) return fmt::format("{:.3g}", v);
  if (std::abs(v) >= 1000 && step >= 1000) return fmt::format("{:g}k", v / 1000);
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step)));
  return fmt::format("{:.{}f}", v, decimals);
}
}  // namespace

void write_line_chart(const std::string& path, const std::vector<Series>& series, const ChartOptions& o) {
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      xmin = std::min(xmin, s.x[i]), xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]), ymax = std::max(ymax, s.y[i]);
    }
  if (!std::isfinite(xmin)) throw UserError("nothing to plot: no finite values");
  const bool categories = !o.x_tick_labels.empty();
  int label_px = 0;  // height of the vertical category labels
  if (categories) {
    xmin = -0.5, xmax = static_cast<double>(o.x_tick_labels.size()) - 0.5;
    for (const auto& label : o.x_tick_labels) label_px = std::max(label_px, 2 * Canvas::text_width(label));
  }
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax == ymin) ymax = ymin + 1, ymin -= 1;
  const double pad = 0.05 * (ymax - ymin);
  ymin -= pad, ymax += pad;

  Canvas c(o.width, o.height);
  const int left = 80, right = o.width - 20, top = 40, bottom = o.height - 60 - label_px;
  auto px = [&](double x) { return left + (x - xmin) / (xmax - xmin) * (right - left); };
  auto py = [&](double y) { return bottom - (y - ymin) / (ymax - ymin) * (bottom - top); };

  const double xs = nice_step(xmax - xmin, 6), ys = nice_step(ymax - ymin, 6);
  for (size_t i = 0; i < o.x_tick_labels.size(); ++i) {
    if (o.x_tick_labels[i].empty()) continue;
    const double x = px(static_cast<double>(i));
    c.line(x, top, x, bottom, kGrey, 1);
    c.text(static_cast<int>(x) - 6, bottom + 8 + 2 * Canvas::text_width(o.x_tick_labels[i]), o.x_tick_labels[i],
           kBlack, 2, true);
  }
  for (double x = std::ceil(xmin / xs) * xs; !categories && x <= xmax + 1e-9 * xs; x += xs) {
    c.line(px(x), top, px(x), bottom, kGrey, 1);
    const std::string label = tick_label(x, xs);
    c.text(static_cast<int>(px(x)) - Canvas::text_width(label), bottom + 8, label, kBlack, 2);
  }
  for (double y = std::ceil(ymin / ys) * ys; y <= ymax + 1e-9 * ys; y += ys) {
    c.line(left, py(y), right, py(y), kGrey, 1);
    const std::string label = tick_label(y, ys);
    c.text(left - 8 - 2 * Canvas::text_width(label), static_cast<int>(py(y)) - 6, label, kBlack, 2);
  }
  c.line(left, bottom, right, bottom, kBlack, 1);
  c.line(left, top, left, bottom, kBlack, 1);
  c.text(left, 10, o.title, kBlack, 2);
  c.text((left + right) / 2 - Canvas::text_width(o.x_label), o.height - 26, o.x_label, kBlack, 2);
  c.text(12, (top + bottom) / 2 + Canvas::text_width(o.y_label), o.y_label, kBlack, 2, true);

  for (size_t k = 0; k < series.size(); ++k) {
    const Rgb& colour = kPalette[k % kPalette.size()];
    const auto& s = series[k];
    for (size_t i = 1; i < s.x.size(); ++i)
      if (std::isfinite(s.y[i - 1]) && std::isfinite(s.y[i])) c.line(px(s.x[i - 1]), py(s.y[i - 1]), px(s.x[i]), py(s.y[i]), colour);
    if (s.x.size() == 1) c.rect(static_cast<int>(px(s.x[0])) - 2, static_cast<int>(py(s.y[0])) - 2,
                                static_cast<int>(px(s.x[0])) + 3, static_cast<int>(py(s.y[0])) + 3, colour);
    const int ly = top + 8 + static_cast<int>(k) * 22;
    c.rect(left + 12, ly + 4, left + 32, ly + 8, colour);
    c.text(left + 40, ly, s.label, kBlack, 2);
  }
  (void)kWhite;
  write_png_strip(path, {c.frame()});
}

}  // namespace imagine
