#include "imagine/nn/attention.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>

namespace imagine::nn {

AttentionMask episode_causal_mask(const at::Tensor& first, int64_t offset, const at::Tensor& prev_start,
                                  int64_t queries, const at::TensorOptions& device) {
  const auto long_opts = device.dtype(torch::kLong);
  const int64_t total = offset + queries;
  at::Tensor query_pos = torch::arange(offset, total, long_opts);  // [S]
  at::Tensor key_pos = torch::arange(total, long_opts);            // [Tk]
  at::Tensor causal = key_pos.unsqueeze(0) <= query_pos.unsqueeze(1);  // [S, Tk]
  if (!first.defined() && !prev_start.defined()) {
    return {causal.view({1, 1, queries, total}), at::Tensor()};
  }
  at::Tensor start;  // [B, S]: index of the latest start at or before each query
  if (first.defined()) {
    TORCH_CHECK(first.dim() == 2 && first.size(1) == queries, "first must be [B, ", queries, "], got ",
                first.sizes());
    start = torch::where(first.to(torch::kBool), query_pos.unsqueeze(0), torch::zeros({}, long_opts));
    if (prev_start.defined()) start = torch::maximum(start, prev_start.view({-1, 1}));
    start = std::get<0>(torch::cummax(start, 1));
  } else {
    start = prev_start.view({-1, 1}).expand({prev_start.size(0), queries});
  }
  at::Tensor allowed = causal.unsqueeze(0) & (key_pos.view({1, 1, total}) >= start.unsqueeze(2));
  return {allowed.unsqueeze(1), start};
}

CausalSelfAttentionImpl::CausalSelfAttentionImpl(const AttentionOptions& options) : options_(options) {
  TORCH_CHECK(options.heads > 0 && options.dim % options.heads == 0, "attention width ", options.dim,
              " is not divisible by ", options.heads, " heads");
  head_dim_ = options.dim / options.heads;
  scale_ = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  auto linear = [&](const char* name) {
    return register_module(name, torch::nn::Linear(torch::nn::LinearOptions(options.dim, options.dim).bias(false)));
  };
  q_ = linear("q");
  k_ = linear("k");
  v_ = linear("v");
  o_ = linear("o");
  attn_drop_ = register_module("attn_drop", torch::nn::Dropout(options.dropout));
  out_drop_ = register_module("out_drop", torch::nn::Dropout(options.dropout));
}

at::Tensor CausalSelfAttentionImpl::split_heads(const at::Tensor& x) const {
  return x.view({x.size(0), x.size(1), options_.heads, head_dim_}).transpose(1, 2);
}

at::Tensor CausalSelfAttentionImpl::attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                           const at::Tensor& allowed) {
  // q: [B, H, S, Dh], k/v: [B, H, Tk, Dh], allowed: [B|1, 1, S, Tk]
  // A single query (an imagination step) is a batch of B*H vector products: broadcasting
  // beats B*H tiny GEMM calls on CPU.
  const bool single = q.size(2) == 1;
  at::Tensor scores = single ? (q * scale_ * k).sum(-1, /*keepdim=*/false).unsqueeze(2)
                             : torch::matmul(q * scale_, k.transpose(-2, -1));
  scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity());
  at::Tensor weights = attn_drop_(torch::softmax(scores, -1));
  at::Tensor out = single ? (weights.transpose(2, 3) * v).sum(2, /*keepdim=*/true)
                          : torch::matmul(weights, v);  // [B, H, S, Dh]
  out = out.transpose(1, 2).reshape({q.size(0), q.size(2), options_.dim});
  return out_drop_(o_(out));
}

at::Tensor CausalSelfAttentionImpl::forward(const at::Tensor& x, const at::Tensor& allowed) {
  TORCH_CHECK(x.dim() == 3 && x.size(2) == options_.dim, "attention expects [B, T, ", options_.dim, "], got ",
              x.sizes());
  return attend(split_heads(q_(x)), split_heads(k_(x)), split_heads(v_(x)), allowed);
}

at::Tensor CausalSelfAttentionImpl::forward_cached(const at::Tensor& x, const at::Tensor& allowed,
                                                   at::Tensor& keys, at::Tensor& values, int64_t offset) {
  TORCH_CHECK(x.dim() == 3 && x.size(2) == options_.dim, "attention expects [B, S, ", options_.dim, "], got ",
              x.sizes());
  const int64_t s = x.size(1);
  TORCH_CHECK(offset + s <= keys.size(2), "KV cache overflow: ", offset, " + ", s, " positions > ", keys.size(2));
  keys.narrow(2, offset, s).copy_(split_heads(k_(x)));
  values.narrow(2, offset, s).copy_(split_heads(v_(x)));
  return attend(split_heads(q_(x)), keys.narrow(2, 0, offset + s), values.narrow(2, 0, offset + s), allowed);
}

TransformerBlockImpl::TransformerBlockImpl(const TransformerOptions& o) {
  attention_ = register_module("attention", CausalSelfAttention(AttentionOptions{o.dim, o.heads, o.dropout}));
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim}).eps(o.layer_norm_eps)));
  fc1_ = register_module("fc1", torch::nn::Linear(o.dim, o.ffn_dim));
  fc2_ = register_module("fc2", torch::nn::Linear(o.ffn_dim, o.dim));
  drop_ = register_module("drop", torch::nn::Dropout(o.dropout));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim}).eps(o.layer_norm_eps)));
}

at::Tensor TransformerBlockImpl::feed_forward(const at::Tensor& x) {
  return norm2_(x + drop_(fc2_(torch::relu(fc1_(x)))));
}

at::Tensor TransformerBlockImpl::forward(const at::Tensor& x, const at::Tensor& allowed) {
  return feed_forward(norm1_(x + attention_(x, allowed)));
}

at::Tensor TransformerBlockImpl::forward_cached(const at::Tensor& x, const at::Tensor& allowed, at::Tensor& keys,
                                                at::Tensor& values, int64_t offset) {
  return feed_forward(norm1_(x + attention_->forward_cached(x, allowed, keys, values, offset)));
}

void KVCache::clear() {
  length = 0;
  if (segment_start.defined()) segment_start.zero_();
}

TransformerImpl::TransformerImpl(const TransformerOptions& options) : options_(options) {
  TORCH_CHECK(options.layers >= 1, "transformer needs at least one layer, got ", options.layers);
  for (int64_t i = 0; i < options.layers; ++i) {
    blocks_.push_back(register_module("block" + std::to_string(i), TransformerBlock(options)));
  }
}

at::Tensor TransformerImpl::forward(const at::Tensor& x, const at::Tensor& first) {
  TORCH_CHECK(x.dim() == 3, "transformer expects [B, T, D], got ", x.sizes());
  at::Tensor allowed = episode_causal_mask(first, 0, at::Tensor(), x.size(1), x.options()).allowed;
  at::Tensor h = x;
  for (auto& block : blocks_) h = block->forward(h, allowed);
  return h;
}

KVCache TransformerImpl::make_cache(int64_t batch, int64_t max_length, const at::Tensor& like) const {
  KVCache cache;
  const int64_t head_dim = options_.dim / options_.heads;
  for (int64_t i = 0; i < options_.layers; ++i) {
    cache.keys.push_back(torch::zeros({batch, options_.heads, max_length, head_dim}, like.options()));
    cache.values.push_back(torch::zeros({batch, options_.heads, max_length, head_dim}, like.options()));
  }
  cache.segment_start = torch::zeros({batch}, like.options().dtype(torch::kLong));
  return cache;
}

at::Tensor TransformerImpl::forward_cached(const at::Tensor& x, KVCache& cache, const at::Tensor& first) {
  TORCH_CHECK(x.dim() == 3 && x.size(0) == cache.batch(), "transformer expects [", cache.batch(), ", S, D], got ",
              x.sizes());
  TORCH_CHECK(static_cast<int64_t>(cache.keys.size()) == options_.layers, "KV cache has ", cache.keys.size(),
              " layers, the transformer ", options_.layers);
  const int64_t offset = cache.length;
  const int64_t s = x.size(1);
  TORCH_CHECK(offset + s <= cache.max_length(), "KV cache overflow: ", offset, " + ", s, " positions > ",
              cache.max_length());
  AttentionMask mask = episode_causal_mask(first, offset, cache.segment_start, s, x.options());
  at::Tensor h = x;
  for (int64_t i = 0; i < options_.layers; ++i) {
    h = blocks_[i]->forward_cached(h, mask.allowed, cache.keys[i], cache.values[i], offset);
  }
  cache.segment_start = mask.start.select(1, s - 1);
  cache.length = offset + s;
  return h;
}

}  // namespace imagine::nn
