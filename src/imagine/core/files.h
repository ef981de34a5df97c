#pragma once
// Atomic file writes: the content goes to a temporary file beside the target, is flushed,
// then renamed over the target, so a reader never sees half a file. Temporaries are named
// `<target>.tmp.<pid>`; the one being written is removed if the process is stopped by a
// second signal (see signals.h), and remove_stale_temporaries() clears those a killed
// process left behind.
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace imagine {

// Calls write(stream) on a temporary file, then renames it to `path`. Raises UserError
// naming the path if the file cannot be written.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);
void write_text_atomically(const std::string& path, const std::string& text);
std::string read_text_file(const std::string& path);

// Removes `<name>.tmp.<pid>` files in `dir` whose process is gone (only those of `<only>`
// when it is given); returns how many.
int remove_stale_temporaries(const std::string& dir, const std::string& only = "");

// Async-signal-safe: removes the temporary file being written right now, if any.
void remove_pending_temporary() noexcept;

// CRC-32 (zlib's) of `size` bytes, continuing from `crc` (start with 0).
uint32_t crc32_update(uint32_t crc, const void* data, size_t size);

// `text` with control characters written as \xNN, so it fits on one line of an error.
std::string printable(const std::string& text);

}  // namespace imagine
