#include "imagine/nn/attention.h"

#include <torch/torch.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

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

namespace {

// One query per (batch, head) on the CPU without autograd: scores, masked softmax and the
// weighted sum of values in one pass over the cache. This is the imagination's inner step;
// LibTorch would run it as B*H tiny GEMMs (bmm) or as broadcast products over a
// non-contiguous cache, both several times slower at STORM's sizes.
// q: [B, H, 1, Dh], k/v: [B, H, Tk, Dh] with contiguous [Tk, Dh] blocks, allowed: [B|1, 1, 1, Tk]
// -> [B, 1, H * Dh].
at::Tensor single_query_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  const at::Tensor& allowed, double scale) {
  const int64_t batch = q.size(0), heads = q.size(1), head_dim = q.size(3), keys = k.size(2);
  const at::Tensor qc = q.contiguous();
  const at::Tensor mask = allowed.expand({batch, 1, 1, keys}).contiguous();
  at::Tensor out = torch::empty({batch, 1, heads * head_dim}, q.options());
  const float* qp = qc.data_ptr<float>();
  const float* kp = k.data_ptr<float>();
  const float* vp = v.data_ptr<float>();
  const bool* mp = mask.data_ptr<bool>();
  float* op = out.data_ptr<float>();
  const int64_t kb = k.stride(0), kh = k.stride(1), vb = v.stride(0), vh = v.stride(1);
  const auto fscale = static_cast<float>(scale);
  at::parallel_for(0, batch * heads, 64, [&](int64_t begin, int64_t end) {
    std::vector<float> weights(static_cast<size_t>(keys));
    for (int64_t i = begin; i < end; ++i) {
      const int64_t b = i / heads, h = i % heads;
      const float* query = qp + i * head_dim;
      const float* key = kp + b * kb + h * kh;
      const float* value = vp + b * vb + h * vh;
      const bool* ok = mp + b * keys;
      float top = -std::numeric_limits<float>::infinity();
      for (int64_t t = 0; t < keys; ++t) {
        float dot = 0;
        for (int64_t d = 0; d < head_dim; ++d) dot += query[d] * key[t * head_dim + d];
        weights[t] = ok[t] ? dot * fscale : -std::numeric_limits<float>::infinity();
        top = std::max(top, weights[t]);
      }
      float total = 0;
      for (int64_t t = 0; t < keys; ++t) {
        weights[t] = ok[t] ? std::exp(weights[t] - top) : 0.0f;
        total += weights[t];
      }
      float* o = op + b * heads * head_dim + h * head_dim;
      std::fill(o, o + head_dim, 0.0f);
      for (int64_t t = 0; t < keys; ++t) {
        const float w = weights[t] / total;
        for (int64_t d = 0; d < head_dim; ++d) o[d] += w * value[t * head_dim + d];
      }
    }
  });
  return out;
}

}  // namespace

at::Tensor CausalSelfAttentionImpl::attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                           const at::Tensor& allowed) {
  // q: [B, H, S, Dh], k/v: [B, H, Tk, Dh], allowed: [B|1, 1, S, Tk]
  const bool single = q.size(2) == 1;
  const bool plain_cpu = q.is_cpu() && q.scalar_type() == torch::kFloat && k.scalar_type() == torch::kFloat &&
                         v.scalar_type() == torch::kFloat && k.stride(3) == 1 && k.stride(2) == head_dim_ &&
                         v.stride(3) == 1 && v.stride(2) == head_dim_;
  const bool needs_grad = at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  const bool dropout_active = attn_drop_->is_training() && options_.dropout > 0;
  if (single && plain_cpu && !needs_grad && !dropout_active)
    return out_drop_(o_(single_query_attention(q, k, v, allowed, scale_)));
  // Otherwise a single query is a batch of B*H vector products: broadcasting beats B*H tiny
  // GEMM calls on CPU.
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
  norm1_ = register_module("norm1", nn::LayerNorm(torch::nn::LayerNormOptions({o.dim}).eps(o.layer_norm_eps)));
  fc1_ = register_module("fc1", torch::nn::Linear(o.dim, o.ffn_dim));
  fc2_ = register_module("fc2", torch::nn::Linear(o.ffn_dim, o.dim));
  drop_ = register_module("drop", torch::nn::Dropout(o.dropout));
  norm2_ = register_module("norm2", nn::LayerNorm(torch::nn::LayerNormOptions({o.dim}).eps(o.layer_norm_eps)));
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
