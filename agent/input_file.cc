#include "agent/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/util/check.h"
#include "core/util/i18n.h"

namespace gongshu::agent {
namespace {
constexpr size_t kBufferSize = 64 * 1024;
}

InputFile::InputFile(Fd fd, std::string name, uint64_t size)
    : fd_(std::move(fd)), name_(std::move(name)), size_(size), buf_(new char[kBufferSize]) {}

Result<InputFile> InputFile::open(const std::string& path, EncodingChoice encoding) {
  if (path == "-") {
    int dup = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
    if (dup < 0) return fail_errno(tr("standard input"), errno);
    InputFile in = from_fd(Fd(dup), "stdin");
    GONGSHU_RETURN_IF_ERROR(in.choose_encoding(encoding));
    return in;
  }
  GONGSHU_TRY(Fd fd, Fd::open(path, O_RDONLY));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail_errno(path, errno);
  if (S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument, trf("{}: is a directory", path));
  }
  InputFile in(std::move(fd), path, S_ISREG(st.st_mode) ? uint64_t(st.st_size) : 0);
  GONGSHU_RETURN_IF_ERROR(in.choose_encoding(encoding));
  return in;
}

Status InputFile::choose_encoding(EncodingChoice encoding) {
  GONGSHU_CHECK(consumed_ == 0 || (encoding != EncodingChoice::kAuto && pos_ == 0));
  if (encoding != EncodingChoice::kAuto) {
    charset_ = encoding == EncodingChoice::kUtf8 ? Charset::kUtf8 : Charset::kGb18030;
    encoding_note_ = trf("{} (declared)", charset_name(charset_));
    return {};
  }
  AutoDetector detect;
  if (size_ > 0) {
    // A regular file: read it through with pread (the buffered position stays at 0).
    uint64_t offset = 0;
    while (!detect.settled()) {
      const ssize_t r = ::pread(fd_.get(), buf_.get(), kBufferSize, static_cast<off_t>(offset));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return fail_errno(trf("{}: read", name_), errno);
      if (r == 0) break;
      detect.feed(std::string_view(buf_.get(), static_cast<size_t>(r)));
      offset += static_cast<uint64_t>(r);
    }
  } else {
    // A pipe: its first block, kept in the buffer for the readers.
    GONGSHU_TRY(bool more, refill());
    if (more) detect.feed(std::string_view(buf_.get(), len_));
  }
  charset_ = detect.decide();
  encoding_note_ = trf("{} (auto: {})", charset_name(charset_), detect.reason());
  return {};
}

InputFile InputFile::from_fd(Fd fd, std::string name) {
  struct stat st;
  uint64_t size = 0;
  if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode)) size = uint64_t(st.st_size);
  return InputFile(std::move(fd), std::move(name), size);
}

Result<bool> InputFile::refill() {
  if (eof_) return false;
  while (true) {
    ssize_t r = ::read(fd_.get(), buf_.get(), kBufferSize);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return fail_errno(trf("{}: read", name_), errno);
    pos_ = 0;
    len_ = static_cast<size_t>(r);
    consumed_ += len_;
    if (r == 0) eof_ = true;
    return r > 0;
  }
}

Result<int> InputFile::refill_and_get() {
  GONGSHU_TRY(bool more, refill());
  if (!more) return -1;
  return static_cast<unsigned char>(buf_[pos_++]);
}

Result<InputFile::Line> InputFile::next_line(std::string& line, size_t max_bytes) {
  line.clear();
  bool too_long = false;
  bool any = false;
  while (true) {
    if (pos_ == len_) {
      GONGSHU_TRY(bool more, refill());
      if (!more) {
        if (!any) return Line::kEnd;
        break;
      }
    }
    any = true;
    const char* start = buf_.get() + pos_;
    const void* nl = std::memchr(start, '\n', len_ - pos_);
    size_t n = nl ? size_t(static_cast<const char*>(nl) - start) : len_ - pos_;
    if (!too_long) {
      size_t room = max_bytes - line.size();
      if (n > room) {
        line.append(start, room);
        too_long = true;
      } else {
        line.append(start, n);
      }
    }
    pos_ += n;
    if (nl) {
      ++pos_;
      break;
    }
  }
  ++line_;
  if (!too_long && !line.empty() && line.back() == '\r') line.pop_back();
  return too_long ? Line::kTooLong : Line::kOk;
}

}  // namespace gongshu::agent
