#include "imagine/envs/grid_game.h"

#include <algorithm>
#include <cstring>

#include "imagine/core/error.h"

namespace imagine::envs {

GridPainter::GridPainter(int64_t grid_height, int64_t grid_width, int64_t image_size)
    : grid_h_(grid_height), grid_w_(grid_width), size_(image_size) {
  block_ = size_ / std::max(grid_h_, grid_w_);
  if (block_ < 1)
    throw UserError("env.image_size = " + std::to_string(size_) + " is too small for a " + std::to_string(grid_h_) +
                    "x" + std::to_string(grid_w_) + " grid (need at least " +
                    std::to_string(std::max(grid_h_, grid_w_)) + ")");
  top_ = (size_ - block_ * grid_h_) / 2;
  left_ = (size_ - block_ * grid_w_) / 2;
}

void GridPainter::paint(const uint8_t* cells, uint8_t* out) const {
  const int64_t plane = size_ * size_;
  // Paint the first pixel row of each block row, then copy it down the block: the cost
  // is one pass over the output with memcpy doing almost all of it.
  for (int64_t c = 0; c < 3; ++c) {
    uint8_t* p = out + c * plane;
    std::memset(p, 0, static_cast<size_t>(top_ * size_));
    for (int64_t r = 0; r < grid_h_; ++r) {
      uint8_t* row = p + (top_ + r * block_) * size_;
      std::memset(row, 0, static_cast<size_t>(left_));
      for (int64_t col = 0; col < grid_w_; ++col)
        std::memset(row + left_ + col * block_, cells[(r * grid_w_ + col) * 3 + c], static_cast<size_t>(block_));
      const int64_t right = left_ + grid_w_ * block_;
      std::memset(row + right, 0, static_cast<size_t>(size_ - right));
      for (int64_t k = 1; k < block_; ++k) std::memcpy(row + k * size_, row, static_cast<size_t>(size_));
    }
    const int64_t bottom = top_ + grid_h_ * block_;
    std::memset(p + bottom * size_, 0, static_cast<size_t>((size_ - bottom) * size_));
  }
}

void GridPainter::repaint(const uint8_t* cells, const uint8_t* previous, uint8_t* canvas) const {
  const int64_t count = grid_h_ * grid_w_;
  if (std::memcmp(cells, previous, static_cast<size_t>(count * 3)) == 0) return;
  const int64_t plane = size_ * size_;
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t* now = cells + i * 3;
    const uint8_t* before = previous + i * 3;
    if (now[0] == before[0] && now[1] == before[1] && now[2] == before[2]) continue;
    const int64_t r = i / grid_w_, col = i % grid_w_;
    uint8_t* block = canvas + (top_ + r * block_) * size_ + left_ + col * block_;
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < block_; ++y) std::memset(block + c * plane + y * size_, now[c], static_cast<size_t>(block_));
  }
}

}  // namespace imagine::envs
