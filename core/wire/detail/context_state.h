// ContextState: what a Context owns, visible only inside core/wire (and to its tests, which use
// state_of() to open raw sockets for feeding malformed input). The libzmq context itself, a count
// of the sockets open on it (Context's destructor checks it is zero), and a counter that names
// internal inproc endpoints (socket monitors, control sockets) uniquely.
//
// Threads: the zmq::context_t is thread-safe; the counters are atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include <zmq.hpp>

#include "core/wire/context.h"

namespace gongshu::wire::detail {

struct ContextState {
  zmq::context_t context;
  std::atomic<int> open_sockets{0};
  std::atomic<uint64_t> next_endpoint_id{0};

  // "inproc://gongshu.wire.<purpose>.<n>", never returned twice by this context.
  std::string unique_inproc_endpoint(std::string_view purpose) {
    return "inproc://gongshu.wire." + std::string(purpose) + "." +
           std::to_string(next_endpoint_id.fetch_add(1, std::memory_order_relaxed));
  }
};

}  // namespace gongshu::wire::detail
