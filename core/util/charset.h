// Character sets of the text files agencies hand in: UTF-8, and GB18030 (a superset of GBK and
// GB2312, what Excel and Notepad on a Chinese Windows desktop write). Conversion goes through the
// C library's iconv, here and nowhere else; iconv_t lives only inside TextDecoder.
//
//   Charset        what a file is read as
//   EncodingChoice what a person asked for: utf-8, gb18030 or auto (a UTF-8 BOM or valid UTF-8
//                  is UTF-8, anything else GB18030; AutoDetector decides)
//   TextDecoder    turns text of one charset into UTF-8, piece by piece (a CSV cell, a JSON
//                  line); a piece that is not valid in the charset is an Error saying where
//
// Every byte below 0x80 is ASCII in both charsets and never part of a multi-byte character
// (GB18030's trailing bytes are 0x30-0x39 and 0x40-0xFE), so lines, commas and quotes can be
// found in the raw bytes before decoding. TextDecoder is move-only and one thread's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/error.h"

namespace gongshu {

enum class Charset { kUtf8, kGb18030 };
enum class EncodingChoice { kAuto, kUtf8, kGb18030 };

// "UTF-8", "GB18030".
const char* charset_name(Charset c);
// "auto", "utf-8" (also "utf8"), "gb18030" (also "gbk", "gb2312", any case); Error otherwise.
Result<EncodingChoice> parse_encoding(std::string_view text);
// "auto", "utf-8", "gb18030".
const char* encoding_choice_name(EncodingChoice c);

// The auto rule over a file's bytes fed in order, in pieces of any size.
class AutoDetector {
 public:
  void feed(std::string_view bytes);
  // Call after the last piece (an incomplete sequence at the end is not UTF-8).
  Charset decide() const;
  // Why: "UTF-8 byte order mark", "valid UTF-8", "not UTF-8 at byte N".
  std::string reason() const;
  bool settled() const { return invalid_at_ >= 0 || bom_; }  // more bytes cannot change it

 private:
  uint64_t seen_ = 0;
  int64_t invalid_at_ = -1;
  bool bom_ = false;
  std::string carry_;  // an unfinished UTF-8 sequence from the previous piece
  std::string head_;   // the first bytes, up to 3 (a byte order mark)
};

class TextDecoder {
 public:
  static Result<TextDecoder> create(Charset from);
  TextDecoder(TextDecoder&& o) noexcept;
  TextDecoder& operator=(TextDecoder&& o) noexcept;
  TextDecoder(const TextDecoder&) = delete;
  TextDecoder& operator=(const TextDecoder&) = delete;
  ~TextDecoder();

  Charset charset() const { return charset_; }

  // Replaces text by its UTF-8 form. UTF-8 input is only checked; ASCII is never copied. On
  // error text is unchanged and the message reads "not valid GB18030 at byte N (bytes 81 20)".
  Status to_utf8(std::string& text);

 private:
  TextDecoder(Charset c, void* cd) : charset_(c), cd_(cd) {}
  Charset charset_;
  void* cd_;  // iconv_t, or nullptr for UTF-8
  std::string scratch_;
};

}  // namespace gongshu
