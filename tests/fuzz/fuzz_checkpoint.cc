// libFuzzer target: the checkpoint reader. The first input byte chooses what the rest is:
// 0, a whole checkpoint file (framing and CRC included); otherwise a LibTorch archive that
// the harness frames with a correct CRC, so the fuzzer reaches the archive and meta parsing
// behind the checksum. Bad input must raise UserError.
#include <unistd.h>

#include <fstream>
#include <string>

#include "imagine/core/checkpoint.h"
#include "imagine/core/error.h"
#include "imagine/core/files.h"

#include <torch/serialize/input-archive.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imagine;
  if (size == 0) return 0;
  static const std::string path = "/tmp/imagine-fuzz-checkpoint-" + std::to_string(::getpid()) + ".pt";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    const char* body = reinterpret_cast<const char*>(data + 1);
    const uint64_t n = size - 1;
    if (data[0] == 0) {
      out.write(body, static_cast<std::streamsize>(n));
    } else {
      const uint32_t crc = crc32_update(0, body, n);
      out.write("IMGCKPT1", 8);
      out.write(body, static_cast<std::streamsize>(n));
      out.write(reinterpret_cast<const char*>(&n), sizeof n);
      out.write(reinterpret_cast<const char*>(&crc), sizeof crc);
      out.write("IMGCKEND", 8);
    }
  }
  try {
    load_checkpoint(path, "fuzz", [](InputArchive& archive, const nlohmann::json&) {
      at::Tensor t;
      archive.read("t", t);
    });
  } catch (const UserError&) {
  }
  return 0;
}
