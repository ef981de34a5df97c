// libFuzzer target: the dataset (replay file) reader. Bad input must raise UserError; an
// allocation failure from sizes in a header is reported as out of memory, never a crash.
#include <sstream>
#include <string>

#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/data/replay_buffer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imagine;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const auto buffer = data::ReplayBuffer::read(in, static_cast<int64_t>(size), "fuzz.replay");
    buffer.episodes();
  } catch (const UserError&) {
  } catch (const std::exception& e) {
    if (!is_out_of_memory(e)) throw;
  }
  return 0;
}
