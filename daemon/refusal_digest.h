// RefusalDigest: keeps the audit of what one key's connections were refused bounded, without
// making it silent. Each refusal on the ingest socket (a batch refused whole, a re-sent
// duplicate, a frame throttled or dropped) is noted against its key and kind: the first
// `audited_per_window` of a key's window are audited in entries of their own, the rest are
// counted, and once the window has passed, due() hands out one summary per key with the counts
// by kind, to be audited in one entry. A key flooding the socket so adds at most
// audited_per_window + 1 entries a window, whatever its rate, and an operator still sees how
// much it sent and of what kind.
//
// Keys are those of enrolled agents (the ingest socket's ZAP handler admits no other), so the
// table is as large as the directory at most; entries with nothing to report are forgotten once
// their window has passed. Not thread-safe: the ingest writer owns it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gongshu::daemon {

class RefusalDigest {
 public:
  explicit RefusalDigest(int64_t window_ms = 60'000, unsigned audited_per_window = 3)
      : window_ms_(window_ms), audited_per_window_(audited_per_window) {}

  // Notes `count` refusals of kind (a BatchErrorCode name, "duplicate", "throttled", ...) from
  // key at now_ms. True: this one is to be audited in its own entry (count must be 1); false:
  // it was counted for the key's next summary.
  bool note(std::string_view key, std::string_view kind, int64_t now_ms, uint64_t count = 1);

  struct Summary {
    std::string key;
    int64_t since_ms = 0;  // start of the window the counts are from
    int64_t until_ms = 0;
    uint64_t total = 0;
    std::map<std::string, uint64_t> by_kind;
  };
  // Summaries of the keys whose window has passed with counted refusals (each key's window then
  // starts again); forgets keys with nothing left to report.
  std::vector<Summary> due(int64_t now_ms);
  // Whether due(now_ms) would return anything; cheap enough to ask after every commit.
  bool any_due(int64_t now_ms) const { return counted_ > 0 && now_ms >= next_due_ms_; }

  // "12 refused since ...: BATCH_MALFORMED 10, duplicate 2" — the detail of a summary entry.
  static std::string describe(const Summary& s);

 private:
  struct KeyWindow {
    int64_t start_ms = 0;
    unsigned audited = 0;
    uint64_t total = 0;
    std::map<std::string, uint64_t, std::less<>> by_kind;
  };
  int64_t window_ms_;
  unsigned audited_per_window_;
  std::map<std::string, KeyWindow, std::less<>> keys_;
  size_t counted_ = 0;  // keys with counts to report
  int64_t next_due_ms_ = INT64_MAX;
};

}  // namespace gongshu::daemon
