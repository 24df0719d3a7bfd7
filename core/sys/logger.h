// Logger: the daemons' one way to say something to operators.
//
// Under systemd (stderr is the journal stream named by JOURNAL_STREAM, or INVOCATION_ID is set)
// each message is one journal entry sent with sd_journal_sendv(3): MESSAGE=, PRIORITY= (syslog
// level), SYSLOG_IDENTIFIER=, plus the caller's structured fields, so operators can select with
// `journalctl GONGSHU_AGENT=<key id>` or `GONGSHU_DATASET=population.household`. Otherwise
// (run by hand, by a test) each message is one line on the file descriptor (stderr):
//
//   gongshud: ready; ingest tcp://127.0.0.1:7400 [GONGSHU_DAEMON_KEY=0c1f...]
//   gongshud: warning: reload refused: /etc/gongshu/gongshud.toml:3: unknown key api.port
//
// If the journal's socket does not exist (a container without journald) the logger writes lines
// instead, and if sending an entry fails that entry goes to the descriptor as a line; logging
// never fails and never blocks on anything but that one write.
//
// Field names are written in the code, so a malformed one (journal rules: A-Z, 0-9 and '_', not
// starting with '_' or a digit, at most 64 characters; not MESSAGE, PRIORITY or
// SYSLOG_IDENTIFIER) is a broken invariant and aborts. Values and messages are arbitrary text:
// control characters are escaped on the line sink so that nobody can forge a log line.
//
// NEVER LOG SECRETS. Messages and fields are text (std::string_view), and SecretBytes has no
// conversion to text, so key material cannot reach a log by accident; keep it that way. Do not
// log key file contents, enrollment tokens, passphrases, sealed or decrypted record payloads, or
// personal data from records (citizen ID numbers, names, addresses): name a principal by its key
// id, a record by dataset and record key, a batch by agent key id and batch_seq. Error messages
// from gongshu's modules name files and reasons, never file contents, so they may be logged.
//
// Thread-safe: log() may be called from any thread; the only mutable state is the minimum level.
#pragma once

#include <atomic>
#include <initializer_list>
#include <string>
#include <string_view>

namespace gongshu::sys {

// Syslog priorities (journal PRIORITY=).
enum class Level : int { kError = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };

// One structured journal field, e.g. {"GONGSHU_DATASET", "population.household"}. The views
// must stay valid for the duration of the log() call only.
struct Field {
  std::string_view key;
  std::string_view value;
};
using Fields = std::initializer_list<Field>;

class Logger {
 public:
  enum class Target { kJournal, kLine };

  // The logger a daemon's main() wants: identifier "gongshud", target chosen by
  // detect_target(STDERR_FILENO), lines to stderr.
  static Logger for_process(std::string identifier);

  // fd receives lines (target kLine, or the journal fallback); it is not owned. A kJournal
  // target becomes kLine when the journal's socket does not exist.
  Logger(std::string identifier, Target target, int fd);

  // Not copyable or movable (for_process() returns a prvalue, so no move is needed).
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  Target target() const { return target_; }
  // Messages below this level (numerically greater) are dropped. Default kInfo.
  void set_min_level(Level level) { min_level_.store(int(level), std::memory_order_relaxed); }

  void log(Level level, std::string_view message, Fields fields = {}) const;
  void error(std::string_view message, Fields fields = {}) const {
    log(Level::kError, message, fields);
  }
  void warning(std::string_view message, Fields fields = {}) const {
    log(Level::kWarning, message, fields);
  }
  void notice(std::string_view message, Fields fields = {}) const {
    log(Level::kNotice, message, fields);
  }
  void info(std::string_view message, Fields fields = {}) const {
    log(Level::kInfo, message, fields);
  }
  void debug(std::string_view message, Fields fields = {}) const {
    log(Level::kDebug, message, fields);
  }

 private:
  bool send_to_journal(Level level, std::string_view message, Fields fields) const;
  void write_line(Level level, std::string_view message, Fields fields) const;

  std::string identifier_;
  Target target_;
  int fd_;
  std::atomic<int> min_level_{int(Level::kInfo)};
};

// kJournal when journal_stream ("<dev>:<inode>", the JOURNAL_STREAM variable) names the file
// that fd refers to, or when invocation_id (INVOCATION_ID) is set and not empty; else kLine.
// Either pointer may be null.
Logger::Target detect_target(const char* journal_stream, const char* invocation_id, int fd);
// The same, reading the environment.
Logger::Target detect_target(int fd);

// True when name is a valid caller-supplied journal field name (rules above).
bool valid_field_name(std::string_view name);

// The line the kLine target writes, newline included.
std::string format_line(std::string_view identifier, Level level, std::string_view message,
                        Fields fields);

}  // namespace gongshu::sys
