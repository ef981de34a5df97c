#pragma once
// Atomic file writes: the content goes to a temporary file beside the target, is flushed,
// then renamed over the target, so a reader never sees half a file.
#include <functional>
#include <ostream>
#include <string>

namespace imagine {

// Calls write(stream) on a temporary file, then renames it to `path`. Raises UserError
// naming the path if the file cannot be written.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);
void write_text_atomically(const std::string& path, const std::string& text);
std::string read_text_file(const std::string& path);

}  // namespace imagine
