#pragma once
// Pictures and animations of observations: PNG strips (stb_image_write) and GIFs (giflib).
// Frames are uint8, channel-major C x H x W with C = 1 or 3.
#include <cstdint>
#include <string>
#include <vector>

namespace imagine {

struct Frame {
  int64_t channels = 3, height = 0, width = 0;
  std::vector<uint8_t> data;  // C x H x W
};

// Lays frames side by side (left to right) in one PNG, written atomically.
void write_png_strip(const std::string& path, const std::vector<Frame>& frames, int64_t scale = 1);
// Writes an animated GIF (written atomically); delay in hundredths of a second per frame.
// Raises UnavailableError if the build has no giflib.
void write_gif(const std::string& path, const std::vector<Frame>& frames, int delay_cs = 8, int64_t scale = 1);
// Joins frames of equal height horizontally with a `gap`-pixel black border between them.
Frame hstack(const std::vector<Frame>& frames, int64_t gap = 2);

}  // namespace imagine
