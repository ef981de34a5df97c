#pragma once
// The [env_model] section: offline training of an environment model of Buesing et al. 2018
// (kind = "env_model") from a dataset written by `imagine collect`. The model's own options
// (EnvModelOptions) sit in the same section, next to the data and optimisation keys.
// image_channels, image_size and num_actions are set from the dataset and [env].
#include <cstdint>
#include <string>

#include "imagine/core/config.h"
#include "imagine/models/ssm/env_model_options.h"

namespace imagine::train {

struct EnvModelJobOptions : models::ssm::EnvModelOptions {
  std::string dataset = "";
  std::string heldout = "";
  int64_t batch_size = 16;
  int64_t eval_every = 1000;
  int64_t eval_sequences = 128;
  bool past_episode_end = false;

  template <class V>
  void visit(V& v) {
    v.field("dataset", dataset,
            {"training dataset file written by `imagine collect ID --out FILE --set env.obs=rgb`"});
    v.field("heldout", heldout,
            {"held-out dataset file; empty = the dataset's companion <stem>.heldout<ext> (skipped if absent)"});
    v.field("batch_size", batch_size, {"sequences per update", config::Range{1, 1e6}});
    v.field("eval_every", eval_every,
            {"updates between held-out evaluations (also done at the last update)", config::Range{1, 1e12}});
    v.field("eval_sequences", eval_sequences,
            {"held-out sequences of the evaluations during training (a fixed set)", config::Range{1, 1e7}});
    v.field("past_episode_end", past_episode_end,
            {"training windows may run past an episode's end (masked), so the reward and termination of the step "
             "that ends an episode are learned (jump = 1 only); off, every window stays inside one episode"});
    models::ssm::EnvModelOptions::visit(v);
  }
};

}  // namespace imagine::train
