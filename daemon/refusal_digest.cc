#include "daemon/refusal_digest.h"

#include <algorithm>

namespace gongshu::daemon {

bool RefusalDigest::note(std::string_view key, std::string_view kind, int64_t now_ms,
                         uint64_t count) {
  auto it = keys_.find(key);
  if (it == keys_.end()) it = keys_.emplace(std::string(key), KeyWindow{now_ms, 0, 0, {}}).first;
  KeyWindow& w = it->second;
  if (now_ms - w.start_ms >= window_ms_ && w.total == 0) {
    w.start_ms = now_ms;  // a new window; a passed one with counts waits for due()
    w.audited = 0;
  }
  if (count == 1 && w.audited < audited_per_window_ && w.total == 0) {
    ++w.audited;
    return true;
  }
  if (w.total == 0) {
    ++counted_;
    next_due_ms_ = std::min(next_due_ms_, w.start_ms + window_ms_);
  }
  w.total += count;
  auto k = w.by_kind.find(kind);
  if (k == w.by_kind.end()) k = w.by_kind.emplace(std::string(kind), 0).first;
  k->second += count;
  return false;
}

std::vector<RefusalDigest::Summary> RefusalDigest::due(int64_t now_ms) {
  std::vector<Summary> out;
  if (!any_due(now_ms)) return out;
  next_due_ms_ = INT64_MAX;
  for (auto it = keys_.begin(); it != keys_.end();) {
    KeyWindow& w = it->second;
    const bool passed = now_ms - w.start_ms >= window_ms_;
    if (w.total > 0 && passed) {
      Summary& s = out.emplace_back();
      s.key = it->first;
      s.since_ms = w.start_ms;
      s.until_ms = now_ms;
      s.total = w.total;
      s.by_kind.insert(w.by_kind.begin(), w.by_kind.end());
      --counted_;
      // The next window starts now with its individual entries spent: a key still flooding is
      // summarised once a window, not audited afresh every time a summary is written.
      w = KeyWindow{now_ms, audited_per_window_, 0, {}};
      ++it;
    } else if (w.total == 0 && passed) {
      it = keys_.erase(it);
    } else {
      if (w.total > 0) next_due_ms_ = std::min(next_due_ms_, w.start_ms + window_ms_);
      ++it;
    }
  }
  return out;
}

std::string RefusalDigest::describe(const Summary& s) {
  std::string d = std::to_string(s.total) + " more refused in " +
                  std::to_string((s.until_ms - s.since_ms + 500) / 1000) +
                  " s, not audited one by one:";
  bool first = true;
  for (const auto& [kind, n] : s.by_kind) {
    d += first ? " " : ", ";
    d += kind + " " + std::to_string(n);
    first = false;
  }
  return d;
}

}  // namespace gongshu::daemon
