#include "imagine/data/replay_buffer.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <system_error>

#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/core/files.h"
#include "imagine/core/log.h"

namespace imagine::data {
namespace {

constexpr uint8_t kTerminated = 1;
constexpr uint8_t kTruncated = 2;
constexpr uint8_t kLifeLost = 4;
constexpr uint8_t kFirst = 8;
constexpr uint8_t kAllFlags = kTerminated | kTruncated | kLifeLost | kFirst;

// File layout (little-endian host order, guarded by kByteOrderMark):
//   char[8] magic, u32 version, u32 byte-order mark,
//   i64 C, H, W, num_streams, capacity,
//   (version 2) i64 n, n bytes of JSON: the source record (environment, collection id),
//   per stream: i64 ring write position (total % capacity), i64 rows stored, i64 rows ever added,
//   per stream, oldest row first: frames [rows, C, H, W] u8, actions [rows] i32,
//                                  rewards [rows] f32, flags [rows] u8,
//   (version 2) u32 CRC-32 of every byte before it.
constexpr char kMagic[8] = {'I', 'M', 'G', 'R', 'P', 'L', 'A', 'Y'};
constexpr uint32_t kFormatVersion = 2;
constexpr uint32_t kByteOrderMark = 0x01020304u;
constexpr int64_t kMaxSourceBytes = 1 << 20;
constexpr int64_t kStreamHeaderBytes = 3 * 8;
constexpr int64_t kRowExtraBytes = 4 + 4 + 1;  // action, reward, flags
constexpr int64_t kMaxSide = 1 << 16;
constexpr int64_t kMaxFrameBytes = int64_t{1} << 26;  // 64 MiB: far above any picture we store
constexpr int64_t kMaxCapacity = 1000000000;
constexpr int64_t kMaxStreams = 1 << 20;

std::string describe_shape(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << "{";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "}";
  return out.str();
}

// A CPU contiguous tensor of `dtype` with `n` elements; converts only when needed.
at::Tensor as_cpu(const at::Tensor& t, at::ScalarType dtype, int64_t n, const char* name) {
  TORCH_CHECK(t.defined(), "ReplayBuffer::add: ", name, " is undefined");
  TORCH_CHECK(t.dim() == 1 && t.size(0) == n, "ReplayBuffer::add: ", name, " must be [", n, "], got ",
              t.sizes());
  at::Tensor out = t;
  if (!out.device().is_cpu()) out = out.cpu();
  if (out.scalar_type() != dtype) out = out.to(dtype);
  return out.contiguous();
}

}  // namespace

Batch Batch::to(const at::Device& device, bool non_blocking) const {
  Batch out;
  out.obs = obs.to(device, non_blocking);
  out.action = action.to(device, non_blocking);
  out.reward = reward.to(device, non_blocking);
  out.terminated = terminated.to(device, non_blocking);
  out.truncated = truncated.to(device, non_blocking);
  out.life_lost = life_lost.to(device, non_blocking);
  out.first = first.to(device, non_blocking);
  out.stream = stream.to(device, non_blocking);
  out.start = start.to(device, non_blocking);
  return out;
}

ReplayBuffer::ReplayBuffer(const ReplayOptions& options, std::vector<int64_t> obs_shape, int64_t num_streams)
    : capacity_(options.capacity), obs_shape_(std::move(obs_shape)), num_streams_(num_streams) {
  if (capacity_ < 1 || capacity_ > kMaxCapacity)
    throw UserError("replay capacity must be in [1, " + std::to_string(kMaxCapacity) + "], got " +
                    std::to_string(capacity_));
  if (obs_shape_.size() != 3 || std::any_of(obs_shape_.begin(), obs_shape_.end(),
                                            [](int64_t d) { return d < 1 || d > kMaxSide; }))
    throw UserError("replay observation shape must be {C, H, W} with sides in [1, " + std::to_string(kMaxSide) +
                    "], got " + describe_shape(obs_shape_));
  if (obs_shape_[0] * obs_shape_[1] * obs_shape_[2] > kMaxFrameBytes)
    throw UserError("replay observation shape " + describe_shape(obs_shape_) + " exceeds " +
                    std::to_string(kMaxFrameBytes) + " bytes a frame");
  if (num_streams_ < 1 || num_streams_ > kMaxStreams)
    throw UserError("replay buffer needs 1 to " + std::to_string(kMaxStreams) + " streams, got " +
                    std::to_string(num_streams_));
  frame_size_ = obs_shape_[0] * obs_shape_[1] * obs_shape_[2];
  check_memory(capacity_, obs_shape_, num_streams_);
  pin_ = options.pin_memory && torch::cuda::is_available();
  // torch::empty leaves pages untouched: a large, mostly empty buffer costs no resident memory.
  frames_ = torch::empty({num_streams_, capacity_, obs_shape_[0], obs_shape_[1], obs_shape_[2]}, torch::kUInt8);
  actions_ = torch::empty({num_streams_, capacity_}, torch::kInt32);
  rewards_ = torch::empty({num_streams_, capacity_}, torch::kFloat32);
  flags_ = torch::empty({num_streams_, capacity_}, torch::kUInt8);
  streams_.resize(num_streams_);
}

void ReplayBuffer::check_memory(int64_t capacity, const std::vector<int64_t>& obs_shape, int64_t num_streams) {
  double row_bytes = kRowExtraBytes;
  double frame = 1;
  for (int64_t d : obs_shape) frame *= static_cast<double>(d);
  row_bytes += frame;
  check_fits_in_memory(static_cast<double>(num_streams) * static_cast<double>(capacity) * row_bytes,
                       fmt::format("a replay buffer of {} x {} rows of {} bytes", num_streams, capacity, row_bytes),
                       "lower replay.capacity (or the number of steps collected)");
}

void ReplayBuffer::check_stream(int64_t stream) const {
  TORCH_CHECK(stream >= 0 && stream < num_streams_, "ReplayBuffer: stream ", stream, " out of range [0, ",
              num_streams_, ")");
}

int64_t ReplayBuffer::num_rows(int64_t stream) const {
  check_stream(stream);
  return streams_[stream].size;
}

int64_t ReplayBuffer::total_added(int64_t stream) const {
  check_stream(stream);
  return streams_[stream].total;
}

int64_t ReplayBuffer::size() const {
  int64_t n = 0;
  for (const auto& s : streams_) n += s.size;
  return n;
}

int64_t ReplayBuffer::frame_bytes() const { return frames_.nbytes(); }

int64_t ReplayBuffer::memory_bytes() const {
  int64_t n = frames_.nbytes() + actions_.nbytes() + rewards_.nbytes() + flags_.nbytes();
  n += static_cast<int64_t>(streams_.size() * sizeof(Stream));
  for (const auto& s : streams_) n += static_cast<int64_t>(s.starts.size() * sizeof(int64_t));
  return n;
}

void ReplayBuffer::drop_overwritten(Stream& s) {
  const int64_t first_kept = oldest(s);
  while (!s.starts.empty() && s.starts.front() < first_kept) s.starts.pop_front();
}

void ReplayBuffer::add(const at::Tensor& obs, const at::Tensor& action, const at::Tensor& reward,
                       const at::Tensor& terminated, const at::Tensor& truncated, const at::Tensor& life_lost,
                       const at::Tensor& first) {
  const int64_t n = num_streams_;
  TORCH_CHECK(obs.defined() && obs.dim() == 4 && obs.size(0) == n && obs.size(1) == obs_shape_[0] &&
                  obs.size(2) == obs_shape_[1] && obs.size(3) == obs_shape_[2],
              "ReplayBuffer::add: obs must be [", n, ", ", obs_shape_[0], ", ", obs_shape_[1], ", ", obs_shape_[2],
              "], got ", obs.defined() ? obs.sizes() : at::IntArrayRef{});
  TORCH_CHECK(obs.scalar_type() == at::kByte, "ReplayBuffer::add: obs must be uint8, got ", obs.scalar_type());
  at::Tensor o = obs;
  if (!o.device().is_cpu()) o = o.cpu();
  o = o.contiguous();
  const at::Tensor a = as_cpu(action, at::kLong, n, "action");
  const at::Tensor r = as_cpu(reward, at::kFloat, n, "reward");
  const at::Tensor term = as_cpu(terminated, at::kBool, n, "terminated");
  const at::Tensor trunc = as_cpu(truncated, at::kBool, n, "truncated");
  const at::Tensor life = as_cpu(life_lost, at::kBool, n, "life_lost");
  const at::Tensor fst = as_cpu(first, at::kBool, n, "first");

  const uint8_t* o_ptr = o.data_ptr<uint8_t>();
  const int64_t* a_ptr = a.data_ptr<int64_t>();
  const float* r_ptr = r.data_ptr<float>();
  const bool* term_ptr = term.data_ptr<bool>();
  const bool* trunc_ptr = trunc.data_ptr<bool>();
  const bool* life_ptr = life.data_ptr<bool>();
  const bool* first_ptr = fst.data_ptr<bool>();

  // Validate everything before writing anything, so a bad call leaves the buffer unchanged.
  const uint8_t* flags = flags_.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    TORCH_CHECK(a_ptr[i] >= std::numeric_limits<int32_t>::min() && a_ptr[i] <= std::numeric_limits<int32_t>::max(),
                "ReplayBuffer::add: action ", a_ptr[i], " of stream ", i, " does not fit int32");
    const Stream& s = streams_[i];
    if (s.size > 0 && !first_ptr[i]) {
      const uint8_t prev = flags[i * capacity_ + (s.total - 1) % capacity_];
      TORCH_CHECK(!(prev & (kTerminated | kTruncated)), "ReplayBuffer::add: stream ", i,
                  " ended an episode at its previous row, so this row must have first = true");
    }
  }

  uint8_t* frames = frames_.data_ptr<uint8_t>();
  int32_t* actions = actions_.data_ptr<int32_t>();
  float* rewards = rewards_.data_ptr<float>();
  uint8_t* flags_out = flags_.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    Stream& s = streams_[i];
    const int64_t g = s.total;
    const int64_t slot = i * capacity_ + g % capacity_;
    std::memcpy(frames + slot * frame_size_, o_ptr + i * frame_size_, static_cast<size_t>(frame_size_));
    actions[slot] = static_cast<int32_t>(a_ptr[i]);
    rewards[slot] = r_ptr[i];
    flags_out[slot] = static_cast<uint8_t>((term_ptr[i] ? kTerminated : 0) | (trunc_ptr[i] ? kTruncated : 0) |
                                         (life_ptr[i] ? kLifeLost : 0) | (first_ptr[i] ? kFirst : 0));
    s.total = g + 1;
    s.size = std::min(s.size + 1, capacity_);
    if (first_ptr[i]) s.starts.push_back(g);
    drop_overwritten(s);
  }
}

Batch ReplayBuffer::make_batch(int64_t batch, int64_t length) const {
  const auto pinned = [&](at::ScalarType dtype) { return torch::TensorOptions().dtype(dtype).pinned_memory(pin_); };
  Batch out;
  out.obs = torch::empty({batch, length, obs_shape_[0], obs_shape_[1], obs_shape_[2]}, pinned(torch::kUInt8));
  out.action = torch::empty({batch, length}, pinned(torch::kInt64));
  out.reward = torch::empty({batch, length}, pinned(torch::kFloat32));
  out.terminated = torch::empty({batch, length}, pinned(torch::kBool));
  out.truncated = torch::empty({batch, length}, pinned(torch::kBool));
  out.life_lost = torch::empty({batch, length}, pinned(torch::kBool));
  out.first = torch::empty({batch, length}, pinned(torch::kBool));
  out.stream = torch::empty({batch}, pinned(torch::kInt64));
  out.start = torch::empty({batch}, pinned(torch::kInt64));
  return out;
}

void ReplayBuffer::gather(int64_t stream, int64_t g, int64_t length, int64_t b, Batch& out) const {
  const int64_t base = stream * capacity_;
  // Frames: at most two contiguous runs (the window may pass the physical end of the ring,
  // never its write position).
  const uint8_t* frames = frames_.data_ptr<uint8_t>();
  uint8_t* obs = out.obs.data_ptr<uint8_t>() + b * length * frame_size_;
  const int64_t p0 = g % capacity_;
  const int64_t run = std::min(length, capacity_ - p0);
  std::memcpy(obs, frames + (base + p0) * frame_size_, static_cast<size_t>(run * frame_size_));
  if (run < length)
    std::memcpy(obs + run * frame_size_, frames + base * frame_size_, static_cast<size_t>((length - run) * frame_size_));

  const int32_t* actions = actions_.data_ptr<int32_t>() + base;
  const float* rewards = rewards_.data_ptr<float>() + base;
  const uint8_t* flags = flags_.data_ptr<uint8_t>() + base;
  int64_t* action = out.action.data_ptr<int64_t>() + b * length;
  float* reward = out.reward.data_ptr<float>() + b * length;
  bool* terminated = out.terminated.data_ptr<bool>() + b * length;
  bool* truncated = out.truncated.data_ptr<bool>() + b * length;
  bool* life_lost = out.life_lost.data_ptr<bool>() + b * length;
  bool* first = out.first.data_ptr<bool>() + b * length;
  for (int64_t t = 0; t < length; ++t) {
    const int64_t p = (p0 + t) % capacity_;
    action[t] = actions[p];
    reward[t] = rewards[p];
    const uint8_t f = flags[p];
    terminated[t] = f & kTerminated;
    truncated[t] = f & kTruncated;
    life_lost[t] = f & kLifeLost;
    first[t] = f & kFirst;
  }
  out.stream.data_ptr<int64_t>()[b] = stream;
  out.start.data_ptr<int64_t>()[b] = g - oldest(streams_[stream]);
}

namespace {
void check_window_shape(int64_t batch, int64_t length) {
  if (batch < 1 || length < 1)
    throw UserError("replay sampling needs batch >= 1 and length >= 1, got batch " + std::to_string(batch) +
                    " and length " + std::to_string(length));
}
}  // namespace

Batch ReplayBuffer::sample(int64_t batch, int64_t length, Rng& rng, bool within_episode) const {
  check_window_shape(batch, length);
  Batch out = make_batch(batch, length);
  fill_uniform(out, batch, length, rng, within_episode);
  return out;
}

void ReplayBuffer::fill_uniform(Batch& out, int64_t count, int64_t length, Rng& rng, bool within_episode) const {
  // Candidate segments: each contributes its number of valid starts beginning at insertion index
  // `begin`. Drawing k uniformly in [0, total) and mapping it to (segment, offset) is a
  // bijection onto the valid starts, hence exactly uniform.
  struct Segment {
    int64_t stream;
    int64_t begin;
  };
  std::vector<Segment> segments;
  std::vector<int64_t> cumulative;  // valid starts in segments [0, i]
  int64_t total = 0;
  int64_t longest = 0;
  auto consider = [&](int64_t stream, int64_t begin, int64_t end) {
    const int64_t rows = end - begin;
    longest = std::max(longest, rows);
    if (rows < length) return;
    total += rows - length + 1;
    segments.push_back({stream, begin});
    cumulative.push_back(total);
  };
  for (int64_t i = 0; i < num_streams_; ++i) {
    const Stream& s = streams_[i];
    if (s.size == 0) continue;
    if (!within_episode) {
      consider(i, oldest(s), s.total);
      continue;
    }
    int64_t begin = oldest(s);
    for (int64_t start : s.starts) {
      if (start <= begin) continue;  // the oldest row itself may be an episode start
      consider(i, begin, start);
      begin = start;
    }
    consider(i, begin, s.total);
  }
  if (total == 0) {
    std::string message = "cannot sample replay windows of " + std::to_string(length) + " steps: the buffer holds " +
                          std::to_string(size()) + " rows in " + std::to_string(num_streams_) + " streams";
    if (within_episode)
      message += " and its longest stretch without an episode start is " + std::to_string(longest) + " rows";
    else
      message += " (at most " + std::to_string(longest) + " per stream)";
    throw UserError(message);
  }

  for (int64_t b = 0; b < count; ++b) {
    const int64_t k = rng.uniform_int(0, total - 1);
    const size_t j = static_cast<size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), k) - cumulative.begin());
    const int64_t offset = k - (j == 0 ? 0 : cumulative[j - 1]);
    gather(segments[j].stream, segments[j].begin + offset, length, b, out);
  }
}

Batch ReplayBuffer::sample_favouring_events(int64_t batch, int64_t length, Rng& rng, bool within_episode,
                                            double event_share, int64_t event_from, int64_t event_to) const {
  check_window_shape(batch, length);
  if (!(event_share >= 0 && event_share <= 1))
    throw UserError("the share of windows with events must be in [0, 1], got " + std::to_string(event_share));
  if (event_from < 0 || event_to < event_from)
    throw UserError("event positions must satisfy 0 <= from <= to, got [" + std::to_string(event_from) + ", " +
                    std::to_string(event_to) + "]");
  const int64_t with_events = std::llround(static_cast<double>(batch) * event_share);
  if (with_events == 0) return sample(batch, length, rng, within_episode);

  // Every (stream, start) whose window has an event in range; sorted and unique so that each
  // window is equally likely however many events it has.
  std::vector<std::pair<int64_t, int64_t>> starts;
  const float* rewards = rewards_.data_ptr<float>();
  const uint8_t* flags = flags_.data_ptr<uint8_t>();
  for (int64_t i = 0; i < num_streams_; ++i) {
    const Stream& s = streams_[i];
    // Whether an episode starts at an insertion index in (after, upto].
    const auto episode_starts_in = [&s](int64_t after, int64_t upto) {
      const auto it = std::upper_bound(s.starts.begin(), s.starts.end(), after);
      return it != s.starts.end() && *it <= upto;
    };
    for (int64_t g = oldest(s); g < s.total; ++g) {
      const int64_t p = i * capacity_ + g % capacity_;
      if (rewards[p] == 0 && !(flags[p] & (kTerminated | kLifeLost))) continue;
      for (int64_t w = std::max(oldest(s), g - event_to); w <= g - event_from && w + length <= s.total; ++w) {
        const int64_t last = w + length - 1;
        if (within_episode ? episode_starts_in(w, std::max(g, last)) : episode_starts_in(last, g)) continue;
        starts.emplace_back(i, w);
      }
    }
  }
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  if (starts.empty()) return sample(batch, length, rng, within_episode);

  Batch out = make_batch(batch, length);
  if (with_events < batch) fill_uniform(out, batch - with_events, length, rng, within_episode);
  for (int64_t b = batch - with_events; b < batch; ++b) {
    const auto [stream, w] = starts[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(starts.size()) - 1))];
    gather(stream, w, length, b, out);
  }
  return out;
}

Batch ReplayBuffer::window(int64_t stream, int64_t start, int64_t length) const {
  check_stream(stream);
  const Stream& s = streams_[stream];
  TORCH_CHECK(start >= 0 && length >= 1 && start + length <= s.size, "ReplayBuffer::window: rows [", start, ", ",
              start + length, ") out of range: stream ", stream, " holds ", s.size, " rows");
  Batch out = make_batch(1, length);
  gather(stream, oldest(s) + start, length, 0, out);
  return out;
}

std::vector<EpisodeSpan> ReplayBuffer::episodes() const {
  std::vector<EpisodeSpan> spans;
  const uint8_t* flags = flags_.data_ptr<uint8_t>();
  for (int64_t i = 0; i < num_streams_; ++i) {
    const Stream& s = streams_[i];
    if (s.size == 0) continue;
    const int64_t first_kept = oldest(s);
    auto flag_at = [&](int64_t g) { return flags[i * capacity_ + g % capacity_]; };
    auto emit = [&](int64_t begin, int64_t end) {
      spans.push_back({i, begin - first_kept, end - begin, (flag_at(begin) & kFirst) != 0,
                       (flag_at(end - 1) & (kTerminated | kTruncated)) != 0});
    };
    int64_t begin = first_kept;
    for (int64_t start : s.starts) {
      if (start <= begin) continue;
      emit(begin, start);
      begin = start;
    }
    emit(begin, s.total);
  }
  return spans;
}

// ---- files -------------------------------------------------------------------------------

namespace {

// Writes and reads the file while keeping its CRC-32.
struct CrcWriter {
  std::ostream& out;
  uint32_t crc = 0;
  void bytes(const void* p, int64_t n) {
    out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
    crc = crc32_update(crc, p, static_cast<size_t>(n));
  }
  template <class T>
  void put(const T& value) { bytes(&value, sizeof(T)); }
};

struct CrcReader {
  std::istream& in;
  const std::string& name;
  int64_t size;
  uint32_t crc = 0;
  int64_t read = 0;
  void bytes(void* p, int64_t n) {
    in.read(static_cast<char*>(p), static_cast<std::streamsize>(n));
    if (!in) truncated(read + n);
    crc = crc32_update(crc, p, static_cast<size_t>(n));
    read += n;
  }
  template <class T>
  T get() {
    T value{};
    bytes(&value, sizeof(T));
    return value;
  }
  [[noreturn]] void truncated(int64_t expected) const {
    throw UserError("dataset '" + name + "' is truncated: expected " + std::to_string(expected) +
                    " bytes, found " + std::to_string(size));
  }
  [[noreturn]] void corrupt(const std::string& what) const {
    throw UserError("dataset '" + name + "' is corrupt: " + what);
  }
};

struct FileHeader {
  uint32_t version = 0;
  std::vector<int64_t> shape;
  int64_t streams = 0, capacity = 0;
  nlohmann::json source;
  std::vector<int64_t> sizes, totals;  // per stream: rows stored, rows ever added
  int64_t expected = 0;                // the file's length in bytes
};

// Reads and checks everything before the rows: sizes, source record, and the file's length.
FileHeader read_header(CrcReader& r) {
  std::istream& in = r.in;
  const std::string& path = r.name;
  const int64_t found = r.size;
  FileHeader h;
  char magic[sizeof(kMagic)] = {};
  in.read(magic, sizeof(magic));
  if (!in || std::memcmp(magic, kMagic, sizeof(kMagic)) != 0)
    throw UserError("dataset '" + path + "' is not an imagine replay file");
  r.crc = crc32_update(0, magic, sizeof magic);
  r.read = sizeof magic;
  const auto version = h.version = r.get<uint32_t>();
  if (version != kFormatVersion && version != 1)
    throw UserError("dataset '" + path + "' has format version " + std::to_string(version) + ", this build reads 1 and " +
                    std::to_string(kFormatVersion));
  if (r.get<uint32_t>() != kByteOrderMark)
    throw UserError("dataset '" + path + "' was written on a machine of another byte order");
  std::vector<int64_t>& shape = h.shape;
  shape.resize(3);
  for (auto& d : shape) d = r.get<int64_t>();
  const auto streams = h.streams = r.get<int64_t>();
  const auto capacity = h.capacity = r.get<int64_t>();
  for (int64_t d : shape)
    if (d < 1 || d > kMaxSide) r.corrupt("observation shape " + describe_shape(shape));
  if (shape[0] * shape[1] * shape[2] > kMaxFrameBytes) r.corrupt("observation shape " + describe_shape(shape));
  if (streams < 1 || streams > kMaxStreams) r.corrupt(std::to_string(streams) + " streams");
  if (capacity < 1 || capacity > kMaxCapacity) r.corrupt("capacity " + std::to_string(capacity));
  nlohmann::json& source = h.source;
  if (version >= 2) {
    const auto length = r.get<int64_t>();
    if (length < 0 || length > kMaxSourceBytes || length > found - r.read)
      r.corrupt("source record of " + std::to_string(length) + " bytes");
    std::string text(static_cast<size_t>(length), '\0');
    r.bytes(text.data(), length);
    source = nlohmann::json::parse(text, nullptr, false);
    if (!source.is_object()) r.corrupt("its source record is not a JSON object");
  } else {
    spdlog::warn("dataset '{}' was written by an older imagine: it records neither its environment nor a checksum",
                 path);
  }

  const int64_t header_bytes = r.read + streams * kStreamHeaderBytes;
  if (found < header_bytes) r.truncated(header_bytes);
  const int64_t row_bytes = shape[0] * shape[1] * shape[2] + kRowExtraBytes;  // < 2^49
  std::vector<int64_t>& sizes = h.sizes;
  std::vector<int64_t>& totals = h.totals;
  sizes.resize(streams);
  totals.resize(streams);
  int64_t& expected = h.expected;
  expected = header_bytes + (version >= 2 ? 4 : 0);
  for (int64_t i = 0; i < streams; ++i) {
    const auto head = r.get<int64_t>();
    sizes[i] = r.get<int64_t>();
    totals[i] = r.get<int64_t>();
    if (sizes[i] < 0 || sizes[i] > capacity || totals[i] < sizes[i] || head != totals[i] % capacity)
      r.corrupt("stream " + std::to_string(i) + " has " + std::to_string(sizes[i]) + " rows, " +
                std::to_string(totals[i]) + " added, write position " + std::to_string(head) + " (capacity " +
                std::to_string(capacity) + ")");
    // sizes <= 1e9 and row_bytes < 2^49 could overflow int64: check before multiplying.
    if (sizes[i] > 0 && row_bytes > (std::numeric_limits<int64_t>::max() - expected) / sizes[i])
      r.corrupt("its size overflows");
    expected += sizes[i] * row_bytes;
  }
  if (found < expected) r.truncated(expected);
  if (found > expected)
    throw UserError("dataset '" + path + "' has " + std::to_string(found - expected) +
                    " unexpected trailing bytes: expected " + std::to_string(expected) + " bytes, found " +
                    std::to_string(found));
  return h;
}

}  // namespace

void ReplayBuffer::write(std::ostream& out) const {
  CrcWriter w{out};
  w.bytes(kMagic, sizeof(kMagic));
  w.put(kFormatVersion);
  w.put(kByteOrderMark);
  for (int64_t d : obs_shape_) w.put(d);
  w.put(num_streams_);
  w.put(capacity_);
  const std::string source = source_.is_null() ? std::string("{}") : source_.dump();
  w.put(static_cast<int64_t>(source.size()));
  w.bytes(source.data(), static_cast<int64_t>(source.size()));
  for (const Stream& s : streams_) {
    w.put(static_cast<int64_t>(s.total % capacity_));
    w.put(s.size);
    w.put(s.total);
  }
  // Oldest row first; each array of a stream is at most two contiguous pieces of the ring.
  auto write_rows = [&](const Stream& s, int64_t stream, const char* data, int64_t row_bytes) {
    const int64_t p0 = oldest(s) % capacity_;
    const int64_t run = std::min(s.size, capacity_ - p0);
    const char* base = data + stream * capacity_ * row_bytes;
    w.bytes(base + p0 * row_bytes, run * row_bytes);
    if (run < s.size) w.bytes(base, (s.size - run) * row_bytes);
  };
  for (int64_t i = 0; i < num_streams_; ++i) {
    const Stream& s = streams_[i];
    write_rows(s, i, static_cast<const char*>(frames_.data_ptr()), frame_size_);
    write_rows(s, i, static_cast<const char*>(actions_.data_ptr()), 4);
    write_rows(s, i, static_cast<const char*>(rewards_.data_ptr()), 4);
    write_rows(s, i, static_cast<const char*>(flags_.data_ptr()), 1);
  }
  const uint32_t crc = w.crc;
  out.write(reinterpret_cast<const char*>(&crc), sizeof crc);
  checksum_ = crc;
}

void ReplayBuffer::save(const std::string& path) const {
  write_file_atomically(path, [&](std::ostream& out) { write(out); });
}

ReplayBuffer ReplayBuffer::load(const std::string& path, bool pin_memory) {
  std::error_code ec;
  const auto file_size = std::filesystem::file_size(path, ec);
  if (ec) throw UserError("cannot read dataset '" + path + "': " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError("cannot open dataset '" + path + "': " + std::strerror(errno));
  return read(in, static_cast<int64_t>(file_size), path, pin_memory);
}

int64_t ReplayBuffer::stored_rows(const std::string& path) {
  std::error_code ec;
  const auto file_size = std::filesystem::file_size(path, ec);
  if (ec) throw UserError("cannot read dataset '" + path + "': " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError("cannot open dataset '" + path + "': " + std::strerror(errno));
  CrcReader r{in, path, static_cast<int64_t>(file_size)};
  const FileHeader h = read_header(r);
  int64_t rows = 0;
  for (int64_t n : h.sizes) rows += n;
  return rows;
}

ReplayBuffer ReplayBuffer::read(std::istream& in, int64_t found, const std::string& path, bool pin_memory) {
  CrcReader r{in, path, found};
  const FileHeader h = read_header(r);
  const uint32_t version = h.version;
  const std::vector<int64_t>& shape = h.shape;
  const int64_t streams = h.streams, capacity = h.capacity;
  const std::vector<int64_t>& sizes = h.sizes;
  const std::vector<int64_t>& totals = h.totals;
  const int64_t expected = h.expected;
  nlohmann::json source = h.source;

  ReplayOptions options;
  options.capacity = capacity;
  options.pin_memory = pin_memory;
  std::optional<ReplayBuffer> made;
  try {
    made.emplace(options, shape, streams);
  } catch (const UserError& e) {
    r.corrupt(e.what());
  }
  ReplayBuffer& buffer = *made;
  auto read_rows = [&](int64_t stream, char* data, int64_t row_bytes) {
    const int64_t p0 = (totals[stream] - sizes[stream]) % capacity;
    const int64_t run = std::min(sizes[stream], capacity - p0);
    char* base = data + stream * capacity * row_bytes;
    r.bytes(base + p0 * row_bytes, run * row_bytes);
    if (run < sizes[stream]) r.bytes(base, (sizes[stream] - run) * row_bytes);
  };
  for (int64_t i = 0; i < streams; ++i) {
    read_rows(i, static_cast<char*>(buffer.frames_.data_ptr()), buffer.frame_size_);
    read_rows(i, static_cast<char*>(buffer.actions_.data_ptr()), 4);
    read_rows(i, static_cast<char*>(buffer.rewards_.data_ptr()), 4);
    read_rows(i, static_cast<char*>(buffer.flags_.data_ptr()), 1);
  }
  if (version >= 2) {
    const uint32_t content_crc = r.crc;
    uint32_t stored = 0;
    in.read(reinterpret_cast<char*>(&stored), sizeof stored);
    if (!in) r.truncated(expected);
    if (stored != content_crc)
      throw UserError(fmt::format("dataset '{}' is corrupt: checksum {:08x}, expected {:08x}", path, content_crc,
                                  stored));
    buffer.checksum_ = content_crc;
  }
  // Flags are checked after the checksum, so a flipped bit is reported as corruption first.
  const uint8_t* flags = buffer.flags_.data_ptr<uint8_t>();
  for (int64_t i = 0; i < streams; ++i) {
    Stream& s = buffer.streams_[i];
    s.total = totals[i];
    s.size = sizes[i];
    for (int64_t g = s.total - s.size; g < s.total; ++g) {
      const uint8_t f = flags[i * capacity + g % capacity];
      if (f & ~kAllFlags)
        throw UserError("dataset '" + path + "' is corrupt: row " + std::to_string(g - (s.total - s.size)) +
                        " of stream " + std::to_string(i) + " has unknown flag bits");
      if (f & kFirst) s.starts.push_back(g);
    }
  }
  buffer.source_ = std::move(source);
  return std::move(buffer);
}

}  // namespace imagine::data
