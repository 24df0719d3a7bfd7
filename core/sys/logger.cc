#include "core/sys/logger.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <vector>

#include "core/util/check.h"
#include "core/util/i18n.h"

namespace gongshu::sys {
namespace {

constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

// The line sink's level words are for the person reading the lines, in the process's language
// (po/README.md); programs select on the journal's PRIORITY= field, which never changes.
const char* level_prefix(Level level) {
  switch (level) {
    case Level::kError:
      return tr("error: ");
    case Level::kWarning:
      return tr("warning: ");
    case Level::kDebug:
      return tr("debug: ");
    case Level::kNotice:
    case Level::kInfo:
      return "";
  }
  return "";
}

// Control characters are escaped so that a value can never end a line or forge another one;
// bytes >= 0x80 pass through (UTF-8 names and messages stay readable).
void append_escaped(std::string& out, std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != 0x7f) {
      out.push_back(ch);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
}

bool parse_u64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

bool valid_field_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (name.front() == '_' || (name.front() >= '0' && name.front() <= '9')) return false;
  for (char c : name) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return name != "MESSAGE" && name != "PRIORITY" && name != "SYSLOG_IDENTIFIER";
}

Logger::Target detect_target(const char* journal_stream, const char* invocation_id, int fd) {
  if (invocation_id != nullptr && *invocation_id != '\0') return Logger::Target::kJournal;
  if (journal_stream == nullptr) return Logger::Target::kLine;
  std::string_view js(journal_stream);
  auto colon = js.find(':');
  uint64_t dev = 0, ino = 0;
  if (colon == std::string_view::npos || !parse_u64(js.substr(0, colon), &dev) ||
      !parse_u64(js.substr(colon + 1), &ino)) {
    return Logger::Target::kLine;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Logger::Target::kLine;
  return uint64_t(st.st_dev) == dev && uint64_t(st.st_ino) == ino ? Logger::Target::kJournal
                                                                  : Logger::Target::kLine;
}

Logger::Target detect_target(int fd) {
  return detect_target(std::getenv("JOURNAL_STREAM"), std::getenv("INVOCATION_ID"), fd);
}

std::string format_line(std::string_view identifier, Level level, std::string_view message,
                        Fields fields) {
  std::string line;
  line.reserve(identifier.size() + message.size() + 16);
  line.append(identifier).append(": ").append(level_prefix(level));
  append_escaped(line, message);
  if (fields.size() > 0) {
    line += " [";
    bool first = true;
    for (const Field& f : fields) {
      if (!first) line.push_back(' ');
      first = false;
      line.append(f.key).push_back('=');
      append_escaped(line, f.value);
    }
    line.push_back(']');
  }
  line.push_back('\n');
  return line;
}

Logger Logger::for_process(std::string identifier) {
  return Logger(std::move(identifier), detect_target(STDERR_FILENO), STDERR_FILENO);
}

Logger::Logger(std::string identifier, Target target, int fd)
    : identifier_(std::move(identifier)), target_(target), fd_(fd) {
  // sd_journal_sendv() reports success when no journald listens (it drops the entry), so a
  // missing socket is checked here: a container or chroot without journald gets lines.
  if (target_ == Target::kJournal && ::access(kJournalSocket, W_OK) != 0) target_ = Target::kLine;
}

void Logger::log(Level level, std::string_view message, Fields fields) const {
  for (const Field& f : fields) {
    GONGSHU_CHECK_MSG(valid_field_name(f.key), "journal field name");  // i18n-exempt: a bug's name
  }
  if (int(level) > min_level_.load(std::memory_order_relaxed)) return;
  if (target_ == Target::kJournal && send_to_journal(level, message, fields)) return;
  write_line(level, message, fields);
}

bool Logger::send_to_journal(Level level, std::string_view message, Fields fields) const {
  std::vector<std::string> items;
  items.reserve(3 + fields.size());
  items.emplace_back("MESSAGE=").append(message);
  items.emplace_back("PRIORITY=").append(std::to_string(int(level)));
  items.emplace_back("SYSLOG_IDENTIFIER=").append(identifier_);
  for (const Field& f : fields) items.emplace_back(f.key).append("=").append(f.value);
  std::vector<iovec> iov(items.size());
  for (size_t i = 0; i < items.size(); ++i) iov[i] = {items[i].data(), items[i].size()};
  return sd_journal_sendv(iov.data(), int(iov.size())) >= 0;
}

void Logger::write_line(Level level, std::string_view message, Fields fields) const {
  std::string line = format_line(identifier_, level, message, fields);
  // One write(2) per line, so lines from several threads do not interleave. A log sink that
  // fails has nowhere to report the failure; the line is dropped.
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += size_t(n);
  }
}

}  // namespace gongshu::sys
