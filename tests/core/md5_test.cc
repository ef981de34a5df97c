#include "imagine/core/md5.h"

#include <gtest/gtest.h>

#include <string>

#include "imagine/core/error.h"

namespace imagine {
namespace {

// The test suite of RFC 1321, appendix A.5.
TEST(Md5Test, RfcTestVectors) {
  EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_hex("a"), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5_hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(md5_hex("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(md5_hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  std::string digits;
  for (int i = 0; i < 8; ++i) digits += "1234567890";
  EXPECT_EQ(md5_hex(digits), "57edf4a22be3c955ac49da2e2107b67a");
}

TEST(Md5Test, IncrementalUpdatesMatchOneShot) {
  // Lengths around the 56- and 64-byte padding boundaries, fed in uneven pieces.
  for (size_t n : {55u, 56u, 63u, 64u, 65u, 119u, 120u, 1000u}) {
    std::string text(n, 'x');
    for (size_t i = 0; i < n; ++i) text[i] = static_cast<char>('a' + (i * 7) % 26);
    Md5 md5;
    for (size_t pos = 0; pos < n;) {
      const size_t take = std::min<size_t>(1 + pos % 13, n - pos);
      md5.update(text.data() + pos, take);
      pos += take;
    }
    EXPECT_EQ(md5.hex_digest(), md5_hex(text)) << "length " << n;
  }
}

TEST(Md5Test, MissingFileIsUserError) {
  EXPECT_THROW(md5_file_hex("/nonexistent/imagine/file.bin"), UserError);
}

}  // namespace
}  // namespace imagine
