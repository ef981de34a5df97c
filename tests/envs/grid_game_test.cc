#include "imagine/envs/grid_game.h"

#include <gtest/gtest.h>

#include <vector>

#include "imagine/core/error.h"

namespace imagine::envs {

TEST(GridPainterTest, CentresSquareBlocksOnBlack) {
  // 2 x 3 grid on a 10-pixel canvas: blocks of 3 px, picture 6 x 9, offsets (2, 0).
  GridPainter painter(2, 3, 10);
  std::vector<uint8_t> cells(2 * 3 * 3, 0);
  cells[(1 * 3 + 2) * 3 + 0] = 200;  // cell (1, 2) red
  cells[(0 * 3 + 0) * 3 + 1] = 100;  // cell (0, 0) green
  std::vector<uint8_t> out(3 * 10 * 10, 7);
  painter.paint(cells.data(), out.data());
  auto at = [&](int c, int y, int x) { return out[(c * 10 + y) * 10 + x]; };
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 10; ++x) {
      const bool red = y >= 5 && y < 8 && x >= 6 && x < 9;
      const bool green = y >= 2 && y < 5 && x >= 0 && x < 3;
      EXPECT_EQ(at(0, y, x), red ? 200 : 0) << y << "," << x;
      EXPECT_EQ(at(1, y, x), green ? 100 : 0) << y << "," << x;
      EXPECT_EQ(at(2, y, x), 0);
    }
}

TEST(GridPainterTest, RejectsCanvasSmallerThanGrid) { EXPECT_THROW(GridPainter(10, 10, 8), UserError); }

}  // namespace imagine::envs
