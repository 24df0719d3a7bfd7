// The audit export file (DESIGN §7): "GSAUDIT1\n", then frames of u8 type, u32 big-endian
// length, bytes. Type 1 is an entry (its stored bytes), type 2 a checkpoint (signed note text).
// Each checkpoint frame follows the entry whose seq equals the checkpoint's tree size.
//
// ExportWriter writes frames through a buffer to a new file and renames it into place when
// finished, so a reader never sees half a file. ExportReader streams frames from a file with
// per-frame size limits; anything malformed is a kCorrupt error naming the byte offset.
// Neither is thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/util/bytes.h"
#include "core/util/error.h"
#include "core/util/fd.h"

namespace gongshu::audit {

inline constexpr std::string_view kExportMagic = "GSAUDIT1\n";

enum class FrameType : uint8_t { kEntry = 1, kCheckpoint = 2 };

class ExportWriter {
 public:
  static Result<ExportWriter> create(const std::string& path);
  ExportWriter(ExportWriter&&) = default;
  ~ExportWriter();

  Status write_frame(FrameType type, ByteView data);
  // Flushes, syncs and renames the file into place.
  Status finish();

 private:
  ExportWriter(std::string path, Fd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  Status flush();
  std::string path_;
  Fd fd_;
  Bytes buf_;
  bool finished_ = false;
};

struct Frame {
  FrameType type;
  ByteView data;    // valid until the next call to next()
  uint64_t offset;  // of the frame header in the file
};

class ExportReader {
 public:
  static Result<ExportReader> open(const std::string& path);

  // The next frame, nullopt at a clean end of file.
  Result<std::optional<Frame>> next();
  uint64_t offset() const { return offset_; }
  uint64_t file_size() const { return file_size_; }

 private:
  ExportReader(Fd fd, uint64_t size) : fd_(std::move(fd)), file_size_(size) {}
  // Ensures n bytes are buffered from pos_; false at EOF.
  Result<bool> fill(size_t n);
  Fd fd_;
  uint64_t file_size_;
  uint64_t offset_ = 0;  // file offset of buf_[pos_]
  Bytes buf_;            // allocated once; bytes [pos_, end_) are unread
  size_t pos_ = 0;
  size_t end_ = 0;
};

}  // namespace gongshu::audit
