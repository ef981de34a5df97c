// imagine rollout RUN --context-from DATASET --horizon H --out FILE.gif|.png: the real frames of a
// held-out trajectory next to the frames an env_model run predicts from its first context
// frames under the same actions (several samples for stochastic models). Bernoulli outputs
// are drawn as their mean probabilities.
#include <torch/torch.h>

#include <fmt/format.h>

#include <filesystem>

#include "imagine/cli/common.h"
#include "imagine/core/checkpoint.h"
#include "imagine/core/error.h"
#include "imagine/core/log.h"
#include "imagine/core/media.h"
#include "imagine/core/run_dir.h"
#include "imagine/train/env_model_job.h"

namespace imagine::cli {

namespace {
struct RolloutArgs {
  std::string run, context_from, out, strip;
  int64_t horizon = 10, samples = 3, seed = 1, checkpoint = -1, scale = 2;
};

// frame: [C, H, W] uint8 -> Frame.
Frame to_frame(const at::Tensor& frame) {
  const auto f = frame.contiguous().cpu();
  Frame out{f.size(0), f.size(1), f.size(2), {}};
  out.data.assign(f.data_ptr<uint8_t>(), f.data_ptr<uint8_t>() + f.numel());
  return out;
}

// Stacks frames of equal width top to bottom with a black `gap` between them.
Frame vstack(const std::vector<Frame>& frames, int64_t gap = 2) {
  const int64_t c = frames.front().channels, w = frames.front().width;
  int64_t h = 0;
  for (const auto& f : frames) h += f.height;
  h += gap * static_cast<int64_t>(frames.size() - 1);
  Frame out{c, h, w, std::vector<uint8_t>(static_cast<size_t>(c * h * w), 0)};
  int64_t y = 0;
  for (const auto& f : frames) {
    for (int64_t ch = 0; ch < c; ++ch)
      std::copy_n(f.data.begin() + ch * f.height * w, f.height * w, out.data.begin() + (ch * h + y) * w);
    y += f.height + gap;
  }
  return out;
}

void rollout(const Globals& g, const RolloutArgs& a) {
  if (a.horizon < 1) throw UserError("--horizon must be at least 1");
  if (a.samples < 1) throw UserError("--samples must be at least 1");
  const std::string ext = std::filesystem::path(a.out).extension().string();
  if (ext != ".gif" && ext != ".png")
    throw UserError("--out '" + a.out + "' must end in .gif (animation) or .png (strip of the predicted steps)");
  if (!a.strip.empty() && std::filesystem::path(a.strip).extension() != ".png")
    throw UserError("--strip '" + a.strip + "' must end in .png");
  const RunDir dir = RunDir::open(a.run);
  const train::Config config = load_config({dir.config_path()}, {});
  if (config.kind != train::Kind::kEnvModel)
    throw UserError("run '" + a.run + "' is kind '" + config::enum_name(config.kind) +
                    "'; `imagine rollout` needs an env_model run");
  apply_runtime(config);
  const auto path = find_checkpoint(dir.checkpoints_dir(), a.checkpoint >= 0 ? std::optional<int64_t>(a.checkpoint) : std::nullopt);
  if (!path) throw UserError("run '" + a.run + "' has no checkpoint");
  const auto dataset = train::load_env_model_dataset(a.context_from, "context dataset");
  int64_t step = 0;
  auto model = train::load_env_model(config, dataset, *path, &step);
  const auto& o = model->options();
  const int64_t k = model->has_latent() || (!model->is_ssm() && o.rollout_feedback == models::ssm::RolloutFeedback::kSample) ? a.samples : 1;

  Rng rng(static_cast<uint64_t>(a.seed));
  const auto window = dataset.sample(1, (o.context + a.horizon) * o.jump, rng, true);
  const auto seq = models::ssm::make_sequence_batch(window, o.context, a.horizon, o.jump);
  const auto device = model->parameters().front().device();
  torch::NoGradGuard no_grad;
  torch::manual_seed(static_cast<uint64_t>(a.seed));
  const auto context = seq.context.expand({k, -1, -1, -1, -1}).contiguous().to(device);
  auto actions = seq.action.expand({k, -1, -1}).contiguous().to(device);  // [K, H, c]
  models::ssm::State state = model->initial_state(context);

  std::vector<Frame> gif, strip;
  const int64_t panels = k + 1;
  for (int64_t i = 0; i < o.context; ++i) {  // context: the real frame in every panel
    std::vector<Frame> row(static_cast<size_t>(panels), to_frame(seq.context[0][i]));
    gif.push_back(hstack(row));
  }
  Table rewards{{"predicted step", "env steps ahead", "real reward", "predicted reward (per sample)"}, {}};
  for (int64_t t = 0; t < a.horizon; ++t) {
    const auto action = o.jump == 1 ? actions.select(1, t).select(1, 0) : actions.select(1, t);
    const auto out = model->step(state, action);
    state = out.state;
    const auto logits = out.frame_logits.defined() ? out.frame_logits : model->decode(state);
    const auto pixels = torch::sigmoid(logits).mul(255.0).round().clamp(0, 255).to(torch::kUInt8).cpu();
    std::vector<Frame> row{to_frame(seq.frames[0][t])};
    for (int64_t s = 0; s < k; ++s) row.push_back(to_frame(pixels[s]));
    gif.push_back(hstack(row));
    strip.push_back(vstack(row));
    const auto r = out.reward.to(torch::kDouble).cpu();
    std::string predicted;
    for (int64_t s = 0; s < k; ++s) predicted += (s ? " " : "") + fmt::format("{:g}", r[s].item<double>());
    rewards.rows.push_back({t + 1, (t + 1) * o.jump, seq.reward[0][t].item<double>(), predicted});
  }
  auto write_strip = [&](const std::string& file) {
    write_png_strip(file, strip, a.scale);
    spdlog::info("wrote {}: predicted steps left to right; real on top, predictions below", file);
  };
  if (ext == ".gif") {
    write_gif(a.out, gif, 40, a.scale);
    spdlog::info("wrote {}: {} update {}, {} context + {} predicted frames; panels: real, then {} prediction(s)", a.out,
                 o.label(), step, o.context, a.horizon, k);
  } else {
    write_strip(a.out);
  }
  if (!a.strip.empty()) write_strip(a.strip);
  rewards.print(g);
}
}  // namespace

void add_rollout(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("rollout", "env_model runs: real and predicted frames side by side as a GIF");
  auto args = std::make_shared<RolloutArgs>();
  RolloutArgs& a = *args;
  cmd->add_option("run", a.run, "run directory of an env_model run")->required();
  cmd->add_option("--context-from", a.context_from, "dataset the trajectory (context frames and actions) comes from")
      ->required();
  cmd->add_option("--horizon", a.horizon, "predicted model steps (each is `jump` environment steps)")
      ->capture_default_str();
  cmd->add_option("--out", a.out, "output file: .gif (animation of all panels) or .png (strip)")->required();
  cmd->add_option("--strip", a.strip, "also write a PNG strip: steps left to right, real above predictions");
  cmd->add_option("--samples", a.samples, "predictions drawn for stochastic models")->capture_default_str();
  cmd->add_option("--seed", a.seed, "seed of the trajectory choice and of the samples")->capture_default_str();
  cmd->add_option("--checkpoint", a.checkpoint, "update of the checkpoint (default: the latest)");
  cmd->add_option("--scale", a.scale, "pixel magnification")->capture_default_str()->check(CLI::Range(1, 16));
  cmd->callback([&g, args] { rollout(g, *args); });
}

}  // namespace imagine::cli
