#pragma once
// Replay buffer: one fixed-capacity ring of rows per environment stream, uint8 frames
// stored once, sampled as [B, T] windows (DESIGN.md "Replay buffer"; specs/storm.md,
// known defect 4: windows respect episode starts and the ring's write position).
//
// Row t of a stream is (o_t, a_t, r_t, terminated_t, truncated_t, life_lost_t, first_t):
//   o_t            the observation (uint8 C x H x W frame)
//   a_t            the action taken at o_t
//   r_t, terminated_t, truncated_t, life_lost_t   what a_t produced
//   first_t        o_t begins an episode (a reset observation)
// So an episode is a run of rows that starts with first = true and, if it has finished,
// ends with a row whose terminated or truncated flag is set. The frame that ended an
// episode (the env's final_obs) is not a row: the next row is the following reset.
#include <nlohmann/json.hpp>

#include <istream>
#include <ostream>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "imagine/core/config.h"
#include "imagine/core/rng.h"

namespace imagine::data {

struct ReplayOptions {
  int64_t capacity = 100000;  // rows per stream
  bool pin_memory = false;

  template <class V>
  void visit(V& v) {
    v.field("capacity", capacity,
            {"rows (agent steps) kept per environment stream; the oldest are overwritten", config::Range{1, 1e9}});
    v.field("pin_memory", pin_memory,
            {"put sampled batches in page-locked memory for fast copies to a CUDA device (ignored without CUDA)"});
  }
};

// A set of [B, T] windows. first[b, t] true means position t starts a new episode and
// nothing before t in the window belongs to it: models must not carry state (recurrent
// state, attention) across such a position. first[b, 0] is the stored flag of the window's
// first row (true only if that row itself begins an episode).
struct Batch {
  at::Tensor obs;         // [B, T, C, H, W] uint8
  at::Tensor action;      // [B, T] int64
  at::Tensor reward;      // [B, T] float
  at::Tensor terminated;  // [B, T] bool
  at::Tensor truncated;   // [B, T] bool
  at::Tensor life_lost;   // [B, T] bool
  at::Tensor first;       // [B, T] bool
  at::Tensor stream;      // [B] int64: stream each window came from
  at::Tensor start;       // [B] int64: row index of position 0 (see ReplayBuffer::num_rows)

  // Copies every tensor to `device` (non_blocking pays off from pinned memory).
  Batch to(const at::Device& device, bool non_blocking = false) const;
};

// A maximal run of stored rows of one stream without an episode start inside it.
struct EpisodeSpan {
  int64_t stream = 0;
  int64_t start = 0;     // row index: 0 = oldest stored row of the stream
  int64_t length = 0;    // rows
  bool begins = false;   // its first row has first = true (else the start was overwritten
                         // or happened before the stream's first stored row)
  bool ends = false;     // its last row is terminated or truncated (else still running)
};

class ReplayBuffer {
 public:
  // obs_shape: {C, H, W}. Storage for capacity rows per stream is reserved up front (the OS
  // commits pages only when rows are first written). Raises UserError on a bad capacity,
  // shape or stream count.
  ReplayBuffer(const ReplayOptions& options, std::vector<int64_t> obs_shape, int64_t num_streams);
  // Movable, not copyable: a copy would share the storage tensors.
  ReplayBuffer(ReplayBuffer&&) = default;
  ReplayBuffer& operator=(ReplayBuffer&&) = default;
  ReplayBuffer(const ReplayBuffer&) = delete;
  ReplayBuffer& operator=(const ReplayBuffer&) = delete;

  // Appends one row to every stream. Accepts CPU tensors of these dtypes without copying
  // through temporaries; other devices or dtypes are converted first.
  //   obs: [N, C, H, W] uint8; action: [N] int64 (values must fit int32); reward: [N] float;
  //   terminated, truncated, life_lost, first: [N] bool; N = num_streams().
  // A row that follows a terminated or truncated row of its stream must have first = true.
  void add(const at::Tensor& obs, const at::Tensor& action, const at::Tensor& reward,
           const at::Tensor& terminated, const at::Tensor& truncated, const at::Tensor& life_lost,
           const at::Tensor& first);

  // Draws `batch` windows of `length` consecutive rows, independently and uniformly over all
  // valid (stream, start) pairs of all streams. A window never mixes streams and never
  // crosses a stream's write position (it holds only rows currently stored, in order).
  //   within_episode = false: windows may contain episode starts; `first` marks them.
  //   within_episode = true:  no window has first = true after position 0 (the state-space
  //                           models roll one episode forward from position 0).
  // Exactly uniform: valid starts are counted per episode segment (a run of rows with no
  // episode start after its first row holds max(0, L - T + 1) valid starts in
  // within_episode mode; a stream holds max(0, rows - T + 1) otherwise) and one unbiased
  // integer draw over the total picks each window. Raises UserError when there is no
  // valid window. With pin_memory and CUDA available the result is in pinned memory.
  Batch sample(int64_t batch, int64_t length, Rng& rng, bool within_episode = false) const;

  // As sample(), but round(batch * event_share) of the windows (the last ones) are drawn
  // uniformly among the windows that have an event (a non-zero reward, a termination or a lost
  // life) at a position in [event_from, event_to] counted from the window's first row, in the
  // window's episode; event_to may lie past the window's end (imagination starting after the
  // window can reach it). Rare events are what a world model's reward and termination heads
  // and an imagination from uniform starts see too seldom. Where no window has an event all
  // are drawn as by sample(); event_share = 0 is sample(), with the same draws. Scans the
  // stored rewards and flags once per call: O(rows + events * (event_to - event_from + 1)).
  Batch sample_favouring_events(int64_t batch, int64_t length, Rng& rng, bool within_episode, double event_share,
                                int64_t event_from, int64_t event_to) const;

  // Rows [start, start + length) of one stream as a [1, length] batch (start as in
  // EpisodeSpan). TORCH_CHECKs the range.
  Batch window(int64_t stream, int64_t start, int64_t length) const;

  // Every stored episode segment, ordered by stream then start. O(number of episodes).
  std::vector<EpisodeSpan> episodes() const;

  // Writes the buffer to `path` atomically (a temporary file, then rename); only stored rows
  // are written, with the source record and a CRC-32 of the content. Raises UserError when
  // the file cannot be written.
  void save(const std::string& path) const;
  void write(std::ostream& out) const;
  // Reads a file written by save(). Raises UserError naming the file when it is not a replay
  // file, has another format version, a corrupt header, the wrong size or a checksum that
  // does not match. The loaded buffer samples exactly as the saved one did, given the same
  // Rng state. Files of format version 1 (no source, no checksum) load with a warning.
  static ReplayBuffer load(const std::string& path, bool pin_memory = false);
  // Rows stored in a dataset file, read from its header alone (checked as load() checks it,
  // but neither the rows nor the checksum are read).
  static int64_t stored_rows(const std::string& path);
  // The same as load() from a stream holding `size` bytes; `name` is used in messages.
  static ReplayBuffer read(std::istream& in, int64_t size, const std::string& name, bool pin_memory = false);

  // Where the data came from: {"env": {...env options...}, "collection": id, ...}, written
  // with the file (empty for buffers that were never given one, and for version 1 files).
  const nlohmann::json& source() const { return source_; }
  void set_source(nlohmann::json source) { source_ = std::move(source); }
  // CRC-32 of the file's content as last saved or loaded (0 before either).
  uint32_t checksum() const { return checksum_; }

  // Raises UserError when a buffer of these sizes would not fit in this machine's memory.
  static void check_memory(int64_t capacity, const std::vector<int64_t>& obs_shape, int64_t num_streams);

  int64_t num_streams() const { return num_streams_; }
  int64_t capacity() const { return capacity_; }
  const std::vector<int64_t>& obs_shape() const { return obs_shape_; }
  // Rows stored in a stream (at most capacity()); row 0 is the oldest.
  int64_t num_rows(int64_t stream) const;
  // Rows ever added to a stream: row i has insertion index total_added - num_rows + i.
  int64_t total_added(int64_t stream) const;
  // Rows stored over all streams.
  int64_t size() const;

  // Bytes reserved by the buffer (frames, actions, rewards, flags, bookkeeping).
  int64_t memory_bytes() const;
  // Bytes of the frame storage alone: num_streams * capacity * C * H * W.
  int64_t frame_bytes() const;

 private:
  struct Stream {
    int64_t total = 0;            // rows ever added; row with insertion index g lives at g % capacity
    int64_t size = 0;             // rows stored
    std::deque<int64_t> starts;   // insertion indices of stored rows with first = true
  };
  int64_t oldest(const Stream& s) const { return s.total - s.size; }
  void check_stream(int64_t stream) const;
  void drop_overwritten(Stream& s);
  // Copies the window of insertion indices [g, g + length) of `stream` into row b of `out`.
  void gather(int64_t stream, int64_t g, int64_t length, int64_t b, Batch& out) const;
  Batch make_batch(int64_t batch, int64_t length) const;
  // Rows [0, count) of `out` as sample() draws them (the draws of sample(count, ...)).
  void fill_uniform(Batch& out, int64_t count, int64_t length, Rng& rng, bool within_episode) const;

  int64_t capacity_;
  bool pin_;
  std::vector<int64_t> obs_shape_;
  int64_t frame_size_;  // C * H * W bytes
  int64_t num_streams_;
  at::Tensor frames_;   // [S, capacity, C, H, W] uint8
  at::Tensor actions_;  // [S, capacity] int32
  at::Tensor rewards_;  // [S, capacity] float
  at::Tensor flags_;    // [S, capacity] uint8, bits kTerminated | kTruncated | kLifeLost | kFirst
  std::vector<Stream> streams_;
  nlohmann::json source_;
  mutable uint32_t checksum_ = 0;
};

}  // namespace imagine::data
