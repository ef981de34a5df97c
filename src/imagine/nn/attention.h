#pragma once
// Multi-head causal self-attention with an episode-aware mask and a KV cache of projected
// keys and values, post-LayerNorm transformer blocks and a stack of them (STORM).
//
// Masking: position i attends to positions j <= i that are not before the most recent
// episode start at or before i (`first` marks starts), i.e. a block-diagonal causal mask.
// Incremental decoding appends positions to a KVCache; each new position costs O(context).
// The cached path is for inference (run it under NoGradGuard): it writes into the cache in
// place.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <vector>

#include "imagine/nn/norm.h"

namespace imagine::nn {

// Which keys each query may attend to.
struct AttentionMask {
  at::Tensor allowed;  // [B or 1, 1, S, offset + S] bool
  at::Tensor start;    // [B, S] int64 index of each query's episode start (undefined if no mask)
};

// Queries are positions offset..offset+S-1, keys 0..offset+S-1.
// first: [B, S] bool or undefined (no starts among the queries);
// prev_start: [B] int64 start of the episode running at position offset-1, or undefined.
AttentionMask episode_causal_mask(const at::Tensor& first, int64_t offset, const at::Tensor& prev_start,
                                  int64_t queries, const at::TensorOptions& device);

struct AttentionOptions {
  int64_t dim = 512;
  int64_t heads = 8;
  double dropout = 0.1;  // on attention weights and on the output
};

class CausalSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit CausalSelfAttentionImpl(const AttentionOptions& options);

  // x: [B, T, D], allowed: from episode_causal_mask(first, 0, {}, T) -> [B, T, D]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& allowed);
  // x: [B, S, D] new positions offset..offset+S-1. Their keys and values are written into
  // keys/values ([B, H, max_len, D/H]) and they attend to cached positions 0..offset+S-1.
  at::Tensor forward_cached(const at::Tensor& x, const at::Tensor& allowed, at::Tensor& keys,
                            at::Tensor& values, int64_t offset);

  int64_t heads() const { return options_.heads; }
  int64_t head_dim() const { return head_dim_; }

 private:
  at::Tensor split_heads(const at::Tensor& x) const;  // [B, S, D] -> [B, H, S, Dh]
  at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& allowed);

  AttentionOptions options_;
  int64_t head_dim_;
  double scale_;
  torch::nn::Linear q_{nullptr}, k_{nullptr}, v_{nullptr}, o_{nullptr};
  torch::nn::Dropout attn_drop_{nullptr}, out_drop_{nullptr};
};
TORCH_MODULE(CausalSelfAttention);

struct TransformerOptions {
  int64_t dim = 512;
  int64_t layers = 2;
  int64_t heads = 8;
  int64_t ffn_dim = 1024;
  double dropout = 0.1;
  double layer_norm_eps = 1e-6;  // the reference's blocks use 1e-6
};

// Post-LN block: x = LN(x + Attn(x)); x = LN(x + Drop(W2 relu(W1 x))).
class TransformerBlockImpl : public torch::nn::Module {
 public:
  explicit TransformerBlockImpl(const TransformerOptions& options);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& allowed);
  at::Tensor forward_cached(const at::Tensor& x, const at::Tensor& allowed, at::Tensor& keys,
                            at::Tensor& values, int64_t offset);

 private:
  at::Tensor feed_forward(const at::Tensor& x);
  CausalSelfAttention attention_{nullptr};
  LayerNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  torch::nn::Dropout drop_{nullptr};
};
TORCH_MODULE(TransformerBlock);

// Projected keys and values of every layer, preallocated to max_length positions.
struct KVCache {
  std::vector<at::Tensor> keys;    // per layer [B, H, max_length, Dh]
  std::vector<at::Tensor> values;  // per layer [B, H, max_length, Dh]
  at::Tensor segment_start;        // [B] int64: episode start of the latest cached position
  int64_t length = 0;              // positions filled (same for every row)

  int64_t max_length() const { return keys.empty() ? 0 : keys.front().size(2); }
  int64_t batch() const { return segment_start.size(0); }
  // Forget all positions (keeps the memory).
  void clear();
};

class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(const TransformerOptions& options);

  // x: [B, T, D], first: [B, T] bool or undefined -> [B, T, D]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& first = {});
  // An empty cache for `batch` rows; `like` gives dtype and device.
  KVCache make_cache(int64_t batch, int64_t max_length, const at::Tensor& like) const;
  // x: [B, S, D] positions cache.length..cache.length+S-1, first: [B, S] bool or undefined
  // -> [B, S, D]; appends them to the cache.
  at::Tensor forward_cached(const at::Tensor& x, KVCache& cache, const at::Tensor& first = {});

  const TransformerOptions& options() const { return options_; }

 private:
  TransformerOptions options_;
  std::vector<TransformerBlock> blocks_;
};
TORCH_MODULE(Transformer);

}  // namespace imagine::nn
