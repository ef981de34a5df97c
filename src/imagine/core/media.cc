#include "imagine/core/media.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include "imagine/build_info.h"
#include "imagine/core/error.h"
#include "imagine/core/files.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBIW_WINDOWS_UTF8 0
#include <stb_image_write.h>
#if IMAGINE_HAVE_GIF
#include <gif_lib.h>
#endif

namespace imagine {

namespace {
// Interleaved RGB, upscaled by an integer factor (nearest neighbour).
std::vector<uint8_t> to_rgb(const Frame& f, int64_t scale) {
  const int64_t H = f.height * scale, W = f.width * scale;
  std::vector<uint8_t> out(static_cast<size_t>(H * W * 3));
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x)
      for (int64_t c = 0; c < 3; ++c) {
        const int64_t src_c = f.channels == 1 ? 0 : c;
        out[static_cast<size_t>((y * W + x) * 3 + c)] =
            f.data[static_cast<size_t>((src_c * f.height + y / scale) * f.width + x / scale)];
      }
  return out;
}

void check_frames(const std::vector<Frame>& frames) {
  if (frames.empty()) throw UserError("no frames to write");
  for (const auto& f : frames)
    if ((f.channels != 1 && f.channels != 3) || f.data.size() != static_cast<size_t>(f.channels * f.height * f.width))
      throw std::invalid_argument("frame must be 1 or 3 channels with C*H*W bytes");
}
}  // namespace

Frame hstack(const std::vector<Frame>& frames, int64_t gap) {
  check_frames(frames);
  Frame out;
  out.channels = 3;
  out.height = frames.front().height;
  for (const auto& f : frames) out.width += f.width;
  out.width += gap * static_cast<int64_t>(frames.size() - 1);
  out.data.assign(static_cast<size_t>(3 * out.height * out.width), 0);
  int64_t left = 0;
  for (const auto& f : frames) {
    if (f.height != out.height) throw std::invalid_argument("hstack: frames differ in height");
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < f.height; ++y)
        std::memcpy(&out.data[static_cast<size_t>((c * out.height + y) * out.width + left)],
                    &f.data[static_cast<size_t>(((f.channels == 1 ? 0 : c) * f.height + y) * f.width)],
                    static_cast<size_t>(f.width));
    left += f.width + gap;
  }
  return out;
}

void write_png_strip(const std::string& path, const std::vector<Frame>& frames, int64_t scale) {
  const Frame strip = hstack(frames, frames.size() > 1 ? 2 : 0);
  const auto rgb = to_rgb(strip, scale);
  const int w = static_cast<int>(strip.width * scale), h = static_cast<int>(strip.height * scale);
  int len = 0;
  unsigned char* png = stbi_write_png_to_mem(rgb.data(), w * 3, w, h, 3, &len);
  if (!png) throw std::runtime_error("PNG encoding failed");
  std::string bytes(reinterpret_cast<char*>(png), static_cast<size_t>(len));
  STBIW_FREE(png);
  write_text_atomically(path, bytes);
}

#if IMAGINE_HAVE_GIF
namespace {
// Palette: the exact colours when there are at most 256, else a 6x7x6 colour cube.
struct Palette {
  std::vector<GifColorType> colours;
  std::map<uint32_t, uint8_t> exact;
  bool cube = false;
  uint8_t index(const uint8_t* p) const {
    if (!cube) return exact.at(uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2]);
    return static_cast<uint8_t>((p[0] * 6 / 256) * 42 + (p[1] * 7 / 256) * 6 + p[2] * 6 / 256);
  }
};

Palette make_palette(const std::vector<std::vector<uint8_t>>& images) {
  Palette pal;
  for (const auto& img : images)
    for (size_t i = 0; i < img.size() && !pal.cube; i += 3) {
      const uint32_t key = uint32_t(img[i]) << 16 | uint32_t(img[i + 1]) << 8 | img[i + 2];
      if (pal.exact.count(key)) continue;
      if (pal.exact.size() == 256) pal.cube = true;
      else pal.exact[key] = static_cast<uint8_t>(pal.exact.size());
    }
  if (pal.cube) {
    for (int r = 0; r < 6; ++r)
      for (int g = 0; g < 7; ++g)
        for (int b = 0; b < 6; ++b)
          pal.colours.push_back({static_cast<uint8_t>(r * 255 / 5), static_cast<uint8_t>(g * 255 / 6),
                                 static_cast<uint8_t>(b * 255 / 5)});
  } else {
    pal.colours.resize(pal.exact.size());
    for (const auto& [key, idx] : pal.exact)
      pal.colours[idx] = {static_cast<uint8_t>(key >> 16), static_cast<uint8_t>(key >> 8), static_cast<uint8_t>(key)};
  }
  pal.colours.resize(256, GifColorType{0, 0, 0});  // GIF palettes are powers of two
  return pal;
}

int write_to_string(GifFileType* gif, const GifByteType* data, int len) {
  static_cast<std::string*>(gif->UserData)->append(reinterpret_cast<const char*>(data), static_cast<size_t>(len));
  return len;
}
}  // namespace

void write_gif(const std::string& path, const std::vector<Frame>& frames, int delay_cs, int64_t scale) {
  check_frames(frames);
  std::vector<std::vector<uint8_t>> images;
  for (const auto& f : frames) images.push_back(to_rgb(f, scale));
  const Palette pal = make_palette(images);
  const int w = static_cast<int>(frames.front().width * scale), h = static_cast<int>(frames.front().height * scale);
  std::string bytes;
  int err = 0;
  GifFileType* gif = EGifOpen(&bytes, write_to_string, &err);
  if (!gif) throw std::runtime_error("GIF encoder failed to open");
  ColorMapObject* cmap = GifMakeMapObject(256, pal.colours.data());
  EGifSetGifVersion(gif, true);
  EGifPutScreenDesc(gif, w, h, 8, 0, cmap);
  // Loop forever (NETSCAPE2.0 application extension).
  const unsigned char loop[] = {1, 0, 0};
  EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE);
  EGifPutExtensionBlock(gif, 11, "NETSCAPE2.0");
  EGifPutExtensionBlock(gif, 3, loop);
  EGifPutExtensionTrailer(gif);
  std::vector<GifByteType> line(static_cast<size_t>(w));
  for (size_t k = 0; k < images.size(); ++k) {
    if (frames[k].width * scale != w || frames[k].height * scale != h) {
      EGifCloseFile(gif, &err);
      GifFreeMapObject(cmap);
      throw std::invalid_argument("GIF frames must share one size");
    }
    GraphicsControlBlock gcb{};
    gcb.DelayTime = delay_cs;
    gcb.TransparentColor = NO_TRANSPARENT_COLOR;
    GifByteType ext[4];
    const size_t n = EGifGCBToExtension(&gcb, ext);
    EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(n), ext);
    EGifPutImageDesc(gif, 0, 0, w, h, false, nullptr);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) line[static_cast<size_t>(x)] = pal.index(&images[k][static_cast<size_t>((y * w + x) * 3)]);
      EGifPutLine(gif, line.data(), w);
    }
  }
  EGifCloseFile(gif, &err);
  GifFreeMapObject(cmap);
  write_text_atomically(path, bytes);
}
#else
void write_gif(const std::string&, const std::vector<Frame>&, int, int64_t) {
  throw UnavailableError("this build has no GIF support: install libgif-dev and reconfigure, or write a .png");
}
#endif

}  // namespace imagine
