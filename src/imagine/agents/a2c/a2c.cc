#include "imagine/agents/a2c/a2c.h"

#include <torch/torch.h>

#include "imagine/core/device.h"

namespace imagine::agents {

namespace nn = torch::nn;

PolicyValueNetImpl::PolicyValueNetImpl(const envs::EnvSpec& spec, int64_t hidden) : obs_scale_(spec.obs_scale) {
  const int64_t c = spec.channels, h = spec.height, w = spec.width;
  if (std::max(h, w) >= 32) {
    torso_ = nn::Sequential(nn::Conv2d(nn::Conv2dOptions(c, 32, 8).stride(4)), nn::ReLU(),
                            nn::Conv2d(nn::Conv2dOptions(32, 64, 4).stride(2)), nn::ReLU(),
                            nn::Conv2d(nn::Conv2dOptions(64, 64, 3).stride(1)), nn::ReLU(), nn::Flatten());
  } else {
    torso_ = nn::Sequential(nn::Conv2d(nn::Conv2dOptions(c, 16, 3).padding(1)), nn::ReLU(), nn::Flatten());
  }
  const int64_t flat = torso_->forward(torch::zeros({1, c, h, w})).size(1);
  torso_->push_back(nn::Linear(flat, hidden));
  torso_->push_back(nn::ReLU());
  register_module("torso", torso_);
  policy_ = register_module("policy", nn::Linear(hidden, spec.num_actions));
  value_ = register_module("value", nn::Linear(hidden, 1));
}

PolicyValueNetImpl::Output PolicyValueNetImpl::forward(const at::Tensor& obs) {
  const auto x = torso_->forward(obs.to(torch::kFloat32) * obs_scale_);
  return {policy_->forward(x), value_->forward(x).squeeze(-1)};
}

A2CAgent::A2CAgent(const envs::EnvSpec& spec, const A2COptions& options, c10::Device device)
    : options_(options), device_(device), net_(spec, options.hidden) {
  net_->to(device_);
  optimizer_ = std::make_unique<torch::optim::Adam>(net_->parameters(),
                                                    torch::optim::AdamOptions(options.lr).eps(1e-5));
}

at::Tensor A2CAgent::act(const at::Tensor& obs, bool greedy) {
  torch::NoGradGuard no_grad;
  const auto logits = net_->forward(obs.to(device_)).logits;
  if (greedy) return logits.argmax(-1).cpu();
  return torch::multinomial(torch::softmax(logits, -1), 1).squeeze(-1).cpu();
}

A2CLosses A2CAgent::update(const A2CRollout& rollout) {
  // One transfer of the whole rollout; the envs live on the CPU.
  A2CRollout r{rollout.obs.to(device_),        rollout.action.to(device_),    rollout.reward.to(device_),
               rollout.terminated.to(device_), rollout.truncated.to(device_), rollout.final_obs.to(device_),
               rollout.last_obs.to(device_)};
  const int64_t T = r.action.size(0), N = r.action.size(1);
  // n-step returns, bootstrapped from V(last obs), zero at terminations and V(final obs)
  // at truncations (the episode did not end, only our view of it).
  torch::Tensor returns;
  {
    torch::NoGradGuard no_grad;
    auto bootstrap = net_->forward(r.last_obs).value;
    const auto truncated_any = r.truncated.any().item<bool>();
    torch::Tensor final_values;
    if (truncated_any) final_values = net_->forward(r.final_obs.flatten(0, 1)).value.view({T, N});
    std::vector<torch::Tensor> out(static_cast<size_t>(T));
    auto next = bootstrap;
    for (int64_t t = T - 1; t >= 0; --t) {
      auto cont = 1.0 - r.terminated[t].to(torch::kFloat32);
      if (truncated_any) next = torch::where(r.truncated[t], final_values[t], next);
      next = r.reward[t] + options_.gamma * cont * next;
      out[static_cast<size_t>(t)] = next;
    }
    returns = torch::stack(out);
  }
  const auto output = net_->forward(r.obs.flatten(0, 1));
  const auto log_probs = torch::log_softmax(output.logits, -1);
  const auto taken = log_probs.gather(1, r.action.reshape({T * N, 1})).squeeze(1);
  const auto value = output.value;
  const auto advantage = (returns.reshape({T * N}) - value).detach();
  A2CLosses losses;
  losses.policy = -(taken * advantage).mean();
  losses.value = 0.5 * (returns.reshape({T * N}) - value).pow(2).mean();
  losses.entropy = -(log_probs.exp() * log_probs).sum(-1).mean();
  losses.total = losses.policy + options_.value_coef * losses.value - options_.entropy_coef * losses.entropy;
  optimizer_->zero_grad();
  losses.total.backward();
  torch::nn::utils::clip_grad_norm_(net_->parameters(), options_.grad_clip);
  optimizer_->step();
  return losses;
}

void A2CAgent::save(OutputArchive& archive) const {
  OutputArchive net, optim;
  net_->save(net);
  optimizer_->save(optim);
  archive.write("net", net);
  archive.write("optimizer", optim);
}

void A2CAgent::load(InputArchive& archive) {
  InputArchive net, optim;
  archive.read("net", net);
  archive.read("optimizer", optim);
  net_->load(net);
  net_->to(device_);
  optimizer_->load(optim);
  move_optimiser_state(*optimizer_, device_);
}

}  // namespace imagine::agents
