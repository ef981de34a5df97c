#include "imagine/agents/a2c/a2c.h"

#include <torch/torch.h>

#include "imagine/core/device.h"

namespace imagine::agents {

namespace nn = torch::nn;

torch::nn::Sequential model_free_torso(const envs::EnvSpec& spec, int64_t hidden) {
  const int64_t c = spec.channels, h = spec.height, w = spec.width;
  nn::Sequential torso;
  if (std::max(h, w) >= 32) {
    torso = nn::Sequential(nn::Conv2d(nn::Conv2dOptions(c, 32, 8).stride(4)), nn::ReLU(),
                           nn::Conv2d(nn::Conv2dOptions(32, 64, 4).stride(2)), nn::ReLU(),
                           nn::Conv2d(nn::Conv2dOptions(64, 64, 3).stride(1)), nn::ReLU(), nn::Flatten());
  } else {
    torso = nn::Sequential(nn::Conv2d(nn::Conv2dOptions(c, 16, 3).padding(1)), nn::ReLU(), nn::Flatten());
  }
  const int64_t flat = torso->forward(torch::zeros({1, c, h, w})).size(1);
  torso->push_back(nn::Linear(flat, hidden));
  torso->push_back(nn::ReLU());
  return torso;
}

PolicyValueNetImpl::PolicyValueNetImpl(const envs::EnvSpec& spec, int64_t hidden) : obs_scale_(spec.obs_scale) {
  torso_ = register_module("torso", model_free_torso(spec, hidden));
  policy_ = register_module("policy", nn::Linear(hidden, spec.num_actions));
  value_ = register_module("value", nn::Linear(hidden, 1));
}

PolicyValueNetImpl::Output PolicyValueNetImpl::forward(const at::Tensor& obs) {
  const auto x = torso_->forward(obs.to(torch::kFloat32) * obs_scale_);
  return {policy_->forward(x), value_->forward(x).squeeze(-1), {}};
}

at::Tensor n_step_returns(const at::Tensor& reward, const at::Tensor& terminated, const at::Tensor& truncated,
                          const at::Tensor& bootstrap, const at::Tensor& final_values, double gamma) {
  TORCH_CHECK(reward.dim() == 2 && terminated.sizes() == reward.sizes() && truncated.sizes() == reward.sizes() &&
                  bootstrap.dim() == 1 && bootstrap.size(0) == reward.size(1),
              "n_step_returns: reward, terminated, truncated [T, N] and bootstrap [N], got ", reward.sizes(), ", ",
              terminated.sizes(), ", ", truncated.sizes(), ", ", bootstrap.sizes());
  const int64_t T = reward.size(0);
  std::vector<at::Tensor> out(static_cast<size_t>(T));
  at::Tensor next = bootstrap;
  for (int64_t t = T - 1; t >= 0; --t) {
    if (final_values.defined()) next = torch::where(truncated[t], final_values[t], next);
    next = reward[t] + gamma * (1.0 - terminated[t].to(reward.scalar_type())) * next;
    out[static_cast<size_t>(t)] = next;
  }
  return torch::stack(out);
}

A2CLosses a2c_loss(const at::Tensor& logits, const at::Tensor& value, const at::Tensor& action,
                   const at::Tensor& returns, double value_coef, double entropy_coef) {
  const auto log_probs = torch::log_softmax(logits, -1);
  const auto taken = log_probs.gather(1, action.reshape({-1, 1})).squeeze(1);
  const auto advantage = (returns - value).detach();
  A2CLosses losses;
  losses.policy = -(taken * advantage).mean();
  losses.value = 0.5 * (returns - value).pow(2).mean();
  losses.entropy = -(log_probs.exp() * log_probs).sum(-1).mean();
  losses.total = losses.policy + value_coef * losses.value - entropy_coef * losses.entropy;
  losses.aux = torch::zeros({}, losses.total.options());
  return losses;
}

A2CAgent::A2CAgent(const envs::EnvSpec& spec, const A2COptions& options, c10::Device device)
    : A2CAgent(std::make_shared<PolicyValueNetImpl>(spec, options.hidden), options, device) {}

A2CAgent::A2CAgent(std::shared_ptr<PolicyValueModule> net, const A2COptions& options, c10::Device device)
    : options_(options), device_(device), net_(std::move(net)) {
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
  at::Tensor returns;
  {
    torch::NoGradGuard no_grad;
    const at::Tensor bootstrap = net_->forward(r.last_obs).value;
    at::Tensor final_values;
    if (r.truncated.any().item<bool>()) final_values = net_->forward(r.final_obs.flatten(0, 1)).value.view({T, N});
    returns = n_step_returns(r.reward, r.terminated, r.truncated, bootstrap, final_values, options_.gamma);
  }
  const auto output = net_->forward(r.obs.flatten(0, 1));
  A2CLosses losses = a2c_loss(output.logits, output.value, r.action.reshape({T * N}), returns.reshape({T * N}),
                              options_.value_coef, options_.entropy_coef);
  losses.aux = output.aux_loss.defined() ? output.aux_loss : torch::zeros({}, losses.total.options());
  losses.total = losses.total + losses.aux;
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
