#include "core/audit/export_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/audit/checkpoint.h"
#include "core/audit/entry.h"

namespace gongshu::audit {
namespace {

constexpr size_t kWriteBuffer = 1 << 20;
// Small enough that what was just read is still in the CPU's cache when it is hashed.
constexpr size_t kReadBuffer = 128 << 10;
constexpr size_t kFrameHeader = 5;

std::string at(uint64_t offset) { return " at byte offset " + std::to_string(offset); }

}  // namespace

Result<ExportWriter> ExportWriter::create(const std::string& path) {
  std::string tmp = path + ".partial";
  ::unlink(tmp.c_str());
  GONGSHU_TRY(Fd fd, Fd::open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0640));
  ExportWriter w(path, std::move(fd));
  w.buf_.reserve(kWriteBuffer + kMaxEntrySize);
  append(w.buf_, kExportMagic);
  return w;
}

ExportWriter::~ExportWriter() {
  if (fd_.valid() && !finished_) ::unlink((path_ + ".partial").c_str());
}

Status ExportWriter::write_frame(FrameType type, ByteView data) {
  buf_.push_back(static_cast<uint8_t>(type));
  append_be32(buf_, static_cast<uint32_t>(data.size()));
  append(buf_, data);
  if (buf_.size() >= kWriteBuffer) return flush();
  return {};
}

Status ExportWriter::flush() {
  GONGSHU_RETURN_IF_ERROR(with_context(fd_.write_all(buf_), "export " + path_));
  buf_.clear();
  return {};
}

Status ExportWriter::finish() {
  GONGSHU_RETURN_IF_ERROR(flush());
  GONGSHU_RETURN_IF_ERROR(with_context(fd_.sync(), "export " + path_));
  std::string tmp = path_ + ".partial";
  if (::rename(tmp.c_str(), path_.c_str()) != 0)
    return fail_errno("export: rename to " + path_, errno);
  finished_ = true;
  return {};
}

Result<ExportReader> ExportReader::open(const std::string& path) {
  GONGSHU_TRY(Fd fd, Fd::open(path, O_RDONLY));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail_errno("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return fail(ErrorCode::kInvalidArgument, path + ": not a regular file");
  ExportReader r(std::move(fd), static_cast<uint64_t>(st.st_size));
  r.buf_.resize(kReadBuffer + kFrameHeader + std::max(kMaxEntrySize, kMaxNoteSize));
  ::posix_fadvise(r.fd_.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  auto ok = r.fill(kExportMagic.size());
  if (!ok) return tl::unexpected(std::move(ok.error()));
  if (!*ok || std::memcmp(r.buf_.data() + r.pos_, kExportMagic.data(), kExportMagic.size()) != 0) {
    return fail(ErrorCode::kCorrupt, path + ": not an audit export (no GSAUDIT1 header)");
  }
  r.pos_ += kExportMagic.size();
  r.offset_ += kExportMagic.size();
  return r;
}

Result<bool> ExportReader::fill(size_t n) {
  if (end_ - pos_ >= n) return true;
  // Move the unread tail (less than one frame) to the front, then read until n bytes are
  // available or EOF. The buffer holds a read chunk plus the largest frame, so it never grows.
  std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
  end_ -= pos_;
  pos_ = 0;
  while (end_ < n) {
    ssize_t got;
    do {
      got = ::read(fd_.get(), buf_.data() + end_, buf_.size() - end_);
    } while (got < 0 && errno == EINTR);
    if (got < 0) return fail_errno("export: read", errno);
    if (got == 0) return false;
    end_ += static_cast<size_t>(got);
  }
  return true;
}

Result<std::optional<Frame>> ExportReader::next() {
  GONGSHU_TRY(bool have_header, fill(kFrameHeader));
  if (!have_header) {
    if (end_ == pos_) return std::optional<Frame>();
    return fail(ErrorCode::kCorrupt, "export ends inside a frame header" + at(offset_));
  }
  const uint8_t* h = buf_.data() + pos_;
  uint8_t type = h[0];
  uint32_t len = get_be32(h + 1);
  size_t limit;
  if (type == static_cast<uint8_t>(FrameType::kEntry)) {
    limit = kMaxEntrySize;
  } else if (type == static_cast<uint8_t>(FrameType::kCheckpoint)) {
    limit = kMaxNoteSize;
  } else {
    return fail(ErrorCode::kCorrupt, "unknown frame type " + std::to_string(type) + at(offset_));
  }
  if (len > limit) {
    return fail(ErrorCode::kCorrupt, "frame of " + std::to_string(len) +
                                         " bytes exceeds the limit of " + std::to_string(limit) +
                                         at(offset_));
  }
  GONGSHU_TRY(bool have_body, fill(kFrameHeader + len));
  if (!have_body) return fail(ErrorCode::kCorrupt, "export ends inside a frame" + at(offset_));
  Frame f{static_cast<FrameType>(type), ByteView(buf_.data() + pos_ + kFrameHeader, len), offset_};
  pos_ += kFrameHeader + len;
  offset_ += kFrameHeader + len;
  return std::optional<Frame>(f);
}

}  // namespace gongshu::audit
