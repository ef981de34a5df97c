#pragma once
// Grid games (MinAtar, MiniPacman) expose the colour of every cell so that one renderer
// (wrappers/rgb_render.h) turns any of them into RGB pictures.
#include <cstdint>

#include "imagine/envs/env.h"

namespace imagine::envs {

class GridGame : public Env {
 public:
  // Writes the colour of each cell of the current state: height x width x 3 bytes,
  // row-major, RGB interleaved, with the game's documented overlap priority applied.
  virtual void cell_colours(uint8_t* rgb) const = 0;
};

// Paints cell colours onto a square canvas: each cell a block of floor(size / max(H, W))
// pixels, the picture centred on black (specs/environments.md).
class GridPainter {
 public:
  GridPainter(int64_t grid_height, int64_t grid_width, int64_t image_size);
  // cells: H x W x 3 (as cell_colours); out: 3 x size x size, channel-major.
  void paint(const uint8_t* cells, uint8_t* out) const;
  // Incremental paint for a canvas that already holds paint(previous): repaints only the
  // cells whose colour differs, after which canvas holds paint(cells). Consecutive frames
  // of grid games differ in a few cells, so this is much cheaper than paint().
  void repaint(const uint8_t* cells, const uint8_t* previous, uint8_t* canvas) const;
  int64_t image_size() const { return size_; }

 private:
  int64_t grid_h_, grid_w_, size_, block_, top_, left_;
};

}  // namespace imagine::envs
