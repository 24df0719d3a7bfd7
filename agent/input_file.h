// InputFile: a forward-only, buffered reader of one input file (or standard input), so that a
// file of any size is read in constant memory. Lines end at '\n' (a preceding '\r' is dropped);
// a line longer than the limit is skipped to its end and reported, never buffered whole.
//
// It also knows the file's character set (core/util/charset.h). open() with
// EncodingChoice::kAuto decides before the first read: a regular file is read through once
// (constant memory) and is UTF-8 when it starts with a UTF-8 byte order mark or is valid UTF-8
// throughout, GB18030 otherwise; standard input or a pipe is judged by its first block (up to
// 64 KiB), which stays buffered for the readers. The bytes handed out are never converted here:
// the readers decode each row (agent/record_reader.h).
//
// One thread; move-only (owns its descriptor).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/util/charset.h"
#include "core/util/error.h"
#include "core/util/fd.h"

namespace gongshu::agent {

class InputFile {
 public:
  // path "-" reads standard input.
  static Result<InputFile> open(const std::string& path,
                                EncodingChoice encoding = EncodingChoice::kAuto);
  // Wraps an open descriptor (a test's pipe, a drop file); takes ownership. Read as UTF-8
  // unless choose_encoding() says otherwise.
  static InputFile from_fd(Fd fd, std::string name);

  // Settles the character set (auto: as above). Only before the first read.
  Status choose_encoding(EncodingChoice encoding);
  Charset charset() const { return charset_; }
  // How the character set was chosen, for people: "GB18030 (declared)",
  // "UTF-8 (auto: valid UTF-8)", "GB18030 (auto: not UTF-8 at byte 17)".
  const std::string& encoding_note() const { return encoding_note_; }

  InputFile(InputFile&&) noexcept = default;
  InputFile& operator=(InputFile&&) noexcept = default;

  enum class Line { kOk, kTooLong, kEnd };
  // Reads the next line into line (cleared first). kTooLong: the line exceeded max_bytes and
  // was skipped (line holds its first max_bytes bytes). Lines are counted from 1.
  Result<Line> next_line(std::string& line, size_t max_bytes);

  // The next byte, or -1 at the end of the input.
  Result<int> get() {
    if (pos_ < len_) return static_cast<unsigned char>(buf_[pos_++]);
    return refill_and_get();
  }

  // The bytes already buffered after the current position (empty when get() must refill), for a
  // reader that scans a run of ordinary bytes at once; consume(n) takes n of them.
  std::string_view buffered() const { return {buf_.get() + pos_, len_ - pos_}; }
  void consume(size_t n) { pos_ += n; }

  uint64_t line_number() const { return line_; }  // of the last line returned by next_line
  uint64_t bytes_read() const { return consumed_ - (len_ - pos_); }
  uint64_t size() const { return size_; }  // 0 when unknown (a pipe)
  const std::string& name() const { return name_; }

 private:
  InputFile(Fd fd, std::string name, uint64_t size);
  Result<int> refill_and_get();
  Result<bool> refill();

  Fd fd_;
  std::string name_;
  uint64_t size_ = 0;
  std::unique_ptr<char[]> buf_;
  size_t pos_ = 0;
  size_t len_ = 0;
  uint64_t consumed_ = 0;
  uint64_t line_ = 0;
  bool eof_ = false;
  Charset charset_ = Charset::kUtf8;
  std::string encoding_note_ = "UTF-8 (declared)";
};

}  // namespace gongshu::agent
