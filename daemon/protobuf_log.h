// Where protobuf's own log messages go in the daemon. By default protobuf writes every complaint
// to stderr — one line per record it refuses to parse (invalid UTF-8 in a string field, say) —
// so three hostile batches made 30,000 lines in 1.6 s, tripped journald's rate limit and hid the
// daemon's real messages. route_protobuf_log() sends them through a sys::LogLimiter instead, and
// while a ProtobufLogBatch is alive on a thread, that thread's messages are counted for the
// batch and logged once, as one line naming the batch, when it ends.
#pragma once

#include <cstdint>
#include <string>

#include "core/sys/log_limiter.h"

namespace gongshu::daemon {

// Installs the handler for the whole process; limiter must outlive every later protobuf call
// (main's). Safe to call again with another limiter (tests).
void route_protobuf_log(sys::LogLimiter& limiter);
// Restores protobuf's default handler (tests).
void unroute_protobuf_log();

// While alive on this thread, protobuf's messages are counted, not logged; the destructor logs
// "batch <name>: protobuf reported N problems ...; the first: ..." once, if there were any.
// Not movable; nests by replacing the outer scope until it ends.
class ProtobufLogBatch {
 public:
  explicit ProtobufLogBatch(std::string name);
  ~ProtobufLogBatch();
  ProtobufLogBatch(const ProtobufLogBatch&) = delete;
  ProtobufLogBatch& operator=(const ProtobufLogBatch&) = delete;

  uint64_t count() const { return count_; }
  void add(const std::string& message);

 private:
  std::string name_;
  uint64_t count_ = 0;
  std::string first_;
  ProtobufLogBatch* outer_;
};

}  // namespace gongshu::daemon
