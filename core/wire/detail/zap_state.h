// ZapHandler::State: everything a ZapHandler owns, defined here so that ServerChannel (which
// registers itself in servers_attached while it exists) can see it. Internal to core/wire.
//
// Threads: zap_socket and control_in belong to the handler thread while it runs; control_out
// belongs to the thread that owns the ZapHandler. The counters are atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "core/wire/detail/context_state.h"
#include "core/wire/detail/socket.h"
#include "core/wire/zap_handler.h"

namespace gongshu::wire {

struct ZapHandler::State {
  State(detail::ContextState* c, ZapAuthorizer a, detail::Socket zap, detail::Socket in,
        detail::Socket out)
      : context(c),
        authorize(std::move(a)),
        zap_socket(std::move(zap)),
        control_in(std::move(in)),
        control_out(std::move(out)) {}

  detail::ContextState* context;
  ZapAuthorizer authorize;
  detail::Socket zap_socket;   // REP, bound on inproc://zeromq.zap.01
  detail::Socket control_in;   // PAIR, bound on a private inproc endpoint; a frame means "stop"
  detail::Socket control_out;  // PAIR, connected to control_in
  std::thread thread;

  std::atomic<bool> running{false};
  std::atomic<int> servers_attached{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> malformed{0};
  std::atomic<uint64_t> errors{0};
};

}  // namespace gongshu::wire
