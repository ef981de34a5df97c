#pragma once
// MD5 message digest (RFC 1321). Used to recognise Atari ROM files, not for security.
#include <cstddef>
#include <cstdint>
#include <string>

namespace imagine {

class Md5 {
 public:
  Md5();
  void update(const void* data, size_t size);
  // The digest as 32 lowercase hex digits; the object must not be updated afterwards.
  std::string hex_digest();

 private:
  void process_block(const uint8_t* block);
  uint32_t state_[4];
  uint64_t length_ = 0;  // bytes consumed so far
  uint8_t buffer_[64];
  size_t buffered_ = 0;
};

std::string md5_hex(const void* data, size_t size);
std::string md5_hex(const std::string& text);
// MD5 of a whole file; raises UserError when it cannot be read.
std::string md5_file_hex(const std::string& path);

}  // namespace imagine
