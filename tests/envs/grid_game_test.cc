#include "imagine/envs/grid_game.h"

#include <gtest/gtest.h>

#include <vector>

#include "imagine/core/error.h"
#include "imagine/core/rng.h"
#include "imagine/envs/builtin/minatar/seaquest.h"
#include "imagine/envs/builtin/minipacman/minipacman.h"
#include "imagine/envs/wrappers/wrappers.h"

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

TEST(GridPainterTest, RepaintOfChangedCellsEqualsAFullPaint) {
  // 5 x 7 grid on 30 pixels (blocks of 4, margins on both axes); random sparse changes.
  GridPainter painter(5, 7, 30);
  const size_t n = 5 * 7 * 3;
  std::vector<uint8_t> previous(n, 0), cells(n, 0), canvas(3 * 30 * 30, 0), full(canvas.size());
  Rng rng(1);
  for (int frame = 0; frame < 50; ++frame) {
    cells = previous;
    const int64_t changes = rng.uniform_int(0, 4);
    for (int64_t k = 0; k < changes; ++k)
      cells[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(n) - 1))] =
          static_cast<uint8_t>(rng.uniform_int(0, 255));
    painter.repaint(cells.data(), previous.data(), canvas.data());
    painter.paint(cells.data(), full.data());
    ASSERT_EQ(canvas, full) << "frame " << frame;
    previous = cells;
  }
}

// RgbRender (incremental) against painting the cell colours of a twin game from scratch.
template <class Game, class... Args>
void check_rgb_render(int64_t image_size, int64_t steps, Args... args) {
  EnvOptions options;
  RgbRender render(std::make_unique<Game>(args..., options), image_size);
  Game twin(args..., options);
  GridPainter painter(twin.spec().height, twin.spec().width, image_size);
  const auto size = static_cast<size_t>(3 * image_size * image_size);
  std::vector<uint8_t> obs(size), expected(size), cells(static_cast<size_t>(twin.spec().height * twin.spec().width * 3));
  render.seed(3);
  twin.seed(3);
  render.reset(obs.data());
  twin.reset(nullptr);
  Rng rng(4);
  for (int64_t t = 0; t < steps; ++t) {
    twin.cell_colours(cells.data());
    painter.paint(cells.data(), expected.data());
    ASSERT_EQ(obs, expected) << "step " << t;
    const int64_t action = rng.uniform_int(0, twin.spec().num_actions - 1);
    // Skip some observations: the picture must still be right afterwards.
    const bool skip = t % 7 == 3;
    StepOutcome out = render.step(action, skip ? nullptr : obs.data());
    twin.step(action, nullptr);
    if (skip && !out.terminated && !out.truncated) {
      out = render.step(0, obs.data());
      twin.step(0, nullptr);
    }
    if (out.terminated || out.truncated) {
      render.reset(obs.data());
      twin.reset(nullptr);
    }
  }
}

TEST(RgbRenderTest, IncrementalPictureEqualsAFullPaint) {
  check_rgb_render<minatar::Seaquest>(64, 400);
  check_rgb_render<minipacman::MiniPacman>(50, 400, minipacman::Mode::kRegular);
}

TEST(MinAtarColoursTest, CellColourIsAFunctionOfTheHighestActiveChannel) {
  // The palette is private, so check the rule's consequences: one colour per top channel,
  // distinct colours for distinct channels, black where no channel is set.
  EnvOptions options;
  minatar::Seaquest game(options);
  game.seed(5);
  const int64_t channels = game.spec().channels;
  std::vector<uint8_t> planes(static_cast<size_t>(game.spec().obs_size())), cells(300);
  std::vector<int64_t> colour_of(static_cast<size_t>(channels + 1), -1);
  Rng rng(6);
  game.reset(planes.data());
  for (int t = 0; t < 400; ++t) {
    game.cell_colours(cells.data());
    for (size_t i = 0; i < 100; ++i) {
      int64_t top = 0;
      for (int64_t c = 0; c < channels; ++c)
        if (planes[static_cast<size_t>(c) * 100 + i]) top = c + 1;
      const int64_t colour = cells[i * 3] << 16 | cells[i * 3 + 1] << 8 | cells[i * 3 + 2];
      if (top == 0) {
        ASSERT_EQ(colour, 0) << "cell " << i;
      }
      auto& known = colour_of[static_cast<size_t>(top)];
      if (known < 0) known = colour;
      ASSERT_EQ(colour, known) << "channel " << top - 1 << " cell " << i << " step " << t;
    }
    const StepOutcome out = game.step(rng.uniform_int(0, 5), planes.data());
    if (out.terminated) game.reset(planes.data());
  }
  int64_t seen = 0;
  for (int64_t a = 1; a <= channels; ++a)
    for (int64_t b = a + 1; b <= channels; ++b)
      if (colour_of[static_cast<size_t>(a)] >= 0 && colour_of[static_cast<size_t>(b)] >= 0) {
        EXPECT_NE(colour_of[static_cast<size_t>(a)], colour_of[static_cast<size_t>(b)]) << a - 1 << " vs " << b - 1;
        ++seen;
      }
  EXPECT_GE(seen, 10);  // several channels were on top somewhere during the run
}

}  // namespace imagine::envs
