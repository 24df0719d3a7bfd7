// Quarantine: agent keys the ingest socket refuses for a while because they flooded it. A key
// that has spent its allowance for wasted work (daemon/ingest.h, waste_burst) and still sends
// frames as fast as it can is cut off and refused at the ZAP handshake until its quarantine
// ends, so the daemon stops paying even the small cost of answering it busy.
//
// Thread-safe: the ingest net thread adds keys, the ZAP handler's thread asks.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace gongshu::daemon {

class Quarantine {
 public:
  // Refuses key until until_ms (wall clock); extends an earlier quarantine, never shortens it.
  void add(std::string_view key, int64_t until_ms) {
    std::lock_guard lock(mu_);
    auto [it, fresh] = until_.try_emplace(std::string(key), until_ms);
    if (!fresh && it->second < until_ms) it->second = until_ms;
  }
  // Whether key is refused at now_ms; forgets quarantines that have ended.
  bool holds(std::string_view key, int64_t now_ms) {
    std::lock_guard lock(mu_);
    auto it = until_.find(key);
    if (it == until_.end()) return false;
    if (it->second > now_ms) return true;
    until_.erase(it);
    return false;
  }

 private:
  std::mutex mu_;
  std::map<std::string, int64_t, std::less<>> until_;
};

}  // namespace gongshu::daemon
