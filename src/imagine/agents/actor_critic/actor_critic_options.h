#pragma once
// Hyperparameters of STORM's imagination actor-critic ([actor_critic] in a config). Defaults are
// the reference's Atari 100k settings (specs/storm.md). The imagination batch and horizon are
// loop settings ([storm]).
#include <cstdint>
#include <string>

#include "imagine/core/config.h"

namespace imagine::agents {

enum class LambdaReturnForm {
  // G_T = V_T;  G_t = r_t + gamma * c_t * ((1 - lambda) * V_{t+1} + lambda * G_{t+1}).
  kStandard,
  // STORM's reference implementation (calc_lambda_return in its agents.py):
  // G_T = V_T;  G_t = r_t + gamma * c_t * ((1 - lambda) * V_t + lambda * G_{t+1}).
  // The bootstrap term mixes the value of the state in which r_t was received instead of the
  // next state, so with lambda = 0 the target of V_t is r_t + gamma * c_t * V_t (the one-step
  // target is shifted by one step); with lambda = 1 both forms agree.
  kStorm,
};
constexpr config::EnumNames<LambdaReturnForm, 2> enum_names(LambdaReturnForm) {
  return {{{LambdaReturnForm::kStandard, "standard"}, {LambdaReturnForm::kStorm, "storm"}}};
}

// The continue flag of an imagined step, which scales its discount.
enum class ImaginedContinue {
  kProbability,  // the model's continue probability
  kThreshold,    // 1 where that probability is at least 1/2, else 0
};
constexpr config::EnumNames<ImaginedContinue, 2> enum_names(ImaginedContinue) {
  return {{{ImaginedContinue::kThreshold, "threshold"}, {ImaginedContinue::kProbability, "probability"}}};
}

struct ActorCriticOptions {
  int64_t hidden = 512;
  int64_t layers = 2;
  double gamma = 0.985;
  double lambda = 0.95;
  LambdaReturnForm lambda_return = LambdaReturnForm::kStandard;
  double entropy_coef = 3e-4;
  double lr = 3e-5;
  double adam_eps = 1e-5;
  double grad_clip = 100.0;
  double slow_critic_decay = 0.98;
  bool slow_critic_regulariser = true;
  double return_percentile_low = 5.0;
  double return_percentile_high = 95.0;
  double return_ema_decay = 0.99;
  double return_scale_floor = 1.0;

  template <class V>
  void visit(V& v) {
    v.field("hidden", hidden, {"width of the actor and critic MLPs", config::Range{1, 1 << 16}});
    v.field("layers", layers, {"hidden [Linear, LayerNorm, ReLU] blocks of the actor and critic",
                               config::Range{1, 16}});
    v.field("gamma", gamma, {"discount per imagined step", config::Range{0, 1}});
    v.field("lambda", lambda, {"lambda of the lambda-returns", config::Range{0, 1}});
    v.field("lambda_return", lambda_return,
            {"'standard': G_t = r_t + gamma c_t ((1-lambda) V_{t+1} + lambda G_{t+1}); 'storm': the reference "
             "implementation's form, which mixes in V_t instead of V_{t+1}"});
    v.field("entropy_coef", entropy_coef, {"weight of the policy-entropy bonus", config::Range{0, 1e3}});
    v.field("lr", lr, {"Adam learning rate of actor and critic", config::Range{0, 1}});
    v.field("adam_eps", adam_eps, {"Adam epsilon", config::Range{0, 1}});
    v.field("grad_clip", grad_clip, {"clip the global gradient norm to this; 0 = no clipping",
                                     config::Range{0, 1e12}});
    v.field("slow_critic_decay", slow_critic_decay,
            {"slow critic <- decay * slow + (1 - decay) * critic after every update", config::Range{0, 1}});
    v.field("slow_critic_regulariser", slow_critic_regulariser,
            {"add the critic's cross-entropy towards the lambda-return computed with slow-critic values"});
    v.field("return_percentile_low", return_percentile_low,
            {"lower percentile of the returns in the return scale S", config::Range{0, 100}});
    v.field("return_percentile_high", return_percentile_high,
            {"upper percentile of the returns in the return scale S", config::Range{0, 100}});
    v.field("return_ema_decay", return_ema_decay,
            {"decay of the moving averages of the return percentiles", config::Range{0, 1}});
    v.field("return_scale_floor", return_scale_floor,
            {"S = max(floor, P_high - P_low); advantages are divided by S", config::Range{1e-8, 1e12}});
  }
};

}  // namespace imagine::agents
