#pragma once
// Line charts as PNG (learning curves for `imagine plot` and docs/): axes with tick
// labels, a title, axis labels and a legend, drawn with stb_easy_font.
#include <string>
#include <vector>

namespace imagine {

struct Series {
  std::string label;
  std::vector<double> x, y;
};

struct ChartOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  int width = 800;
  int height = 480;
  // Categories: when set, x runs from -0.5 to size - 0.5 with one tick per integer x,
  // labelled vertically with these names (empty names leave a gap).
  std::vector<std::string> x_tick_labels = {};
};

// Writes the chart atomically; raises UserError if there is nothing to draw.
void write_line_chart(const std::string& path, const std::vector<Series>& series, const ChartOptions& options);

}  // namespace imagine
