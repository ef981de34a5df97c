// imagine plot RUN [RUN ...] --metric NAME --out FILE.png: learning curves from metrics.jsonl.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "imagine/cli/common.h"
#include "imagine/core/chart.h"
#include "imagine/core/error.h"
#include "imagine/core/log.h"
#include "imagine/core/run_dir.h"

namespace imagine::cli {

void add_plot(CLI::App& app, Globals&) {
  auto* cmd = app.add_subcommand("plot", "learning curves of one metric for one or more runs, as a PNG");
  struct Args {
    std::vector<std::string> runs;
    std::string metric = "episode/return", out, title;
    int64_t smooth = 1;
  };
  auto args = std::make_shared<Args>();
  auto& [runs, metric, out, title, smooth] = *args;
  cmd->add_option("runs", runs, "run directories")->required();
  cmd->add_option("--metric", metric, "metric name in metrics.jsonl")->capture_default_str();
  cmd->add_option("--out", out, "output PNG file")->required();
  cmd->add_option("--title", title, "chart title (default: the metric)");
  cmd->add_option("--smooth", smooth, "moving average over this many points")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->callback([args] {
    const auto& [runs, metric, out, title, smooth] = *args;
    std::string ext = std::filesystem::path(out).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext != ".png") throw UserError("--out '" + out + "' must end in .png (plot writes PNG pictures)");
    std::vector<Series> series;
    for (const auto& run : runs) {
      const RunDir dir = RunDir::open(run);
      std::ifstream in(dir.metrics_path());
      Series s;
      s.label = std::filesystem::path(run).filename().string();
      if (s.label.empty()) s.label = run;
      std::string line;
      std::vector<double> raw;
      int64_t line_number = 0, unreadable = 0;
      while (std::getline(in, line)) {
        ++line_number;
        if (line.empty()) continue;
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("step") || !j["step"].is_number()) {
          if (unreadable++ == 0) spdlog::warn("{}:{}: not a metrics line; skipped", dir.metrics_path(), line_number);
          continue;
        }
        if (!j.contains(metric) || !j[metric].is_number()) continue;
        s.x.push_back(j["step"].get<double>());
        raw.push_back(j[metric].get<double>());
      }
      if (raw.empty() && unreadable > 0 && unreadable == line_number)
        throw UserError("'" + dir.metrics_path() + "' holds no metrics lines (" + std::to_string(unreadable) +
                        " unreadable lines)");
      if (raw.empty()) throw UserError("run '" + run + "' has no metric '" + metric + "' in metrics.jsonl");
      for (size_t i = 0; i < raw.size(); ++i) {
        const size_t from = i + 1 >= static_cast<size_t>(smooth) ? i + 1 - static_cast<size_t>(smooth) : 0;
        double sum = 0;
        for (size_t k = from; k <= i; ++k) sum += raw[k];
        s.y.push_back(sum / static_cast<double>(i - from + 1));
      }
      series.push_back(std::move(s));
    }
    write_line_chart(out, series, {title.empty() ? metric : title, "environment steps", metric});
  });
}

}  // namespace imagine::cli
