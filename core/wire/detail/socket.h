// Socket: one libzmq socket made from a Context, with its linger set at birth and its close
// counted in the Context (whose destructor checks that none is left open). It is the only place
// core/wire touches raw socket calls; every method reports failure as a Result and never throws.
//
// Owns the zmq::socket_t. Threads: a socket is used by one thread at a time; it may move to
// another thread across a happens-before edge (thread start, join, a mutex). Move-only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "core/util/bytes.h"
#include "core/util/error.h"
#include "core/wire/detail/context_state.h"

namespace gongshu::wire::detail {

// One multipart message as received: at most `keep` leading frames, and how many there were.
struct ReceivedMessage {
  std::vector<zmq::message_t> frames;
  size_t frame_count = 0;
};

class Socket {
 public:
  static Result<Socket> open(ContextState& context, zmq::socket_type type,
                             std::chrono::milliseconds linger);

  Socket(Socket&& other) noexcept;
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket();

  // The raw handle, for zmq_pollitem_t and zmq_socket_monitor. Lives as long as this Socket.
  void* handle() { return socket_.handle(); }

  Status set_int(int option, int value, std::string_view name);
  Status set_int64(int option, int64_t value, std::string_view name);
  Status set_bytes(int option, ByteView value, std::string_view name);

  Status bind(const std::string& endpoint);
  // Closes the listener bound at endpoint (as last_endpoint() gave it) and, with it, every
  // connection it accepted.
  Status unbind(const std::string& endpoint);
  Status connect(const std::string& endpoint);
  // ZMQ_LAST_ENDPOINT: the endpoint of the last bind, with any wildcard port resolved.
  Result<std::string> last_endpoint();

  // Receives one whole message without blocking; nullopt when none is queued (or EINTR). Frames
  // after the first `keep` are read and discarded, so a peer cannot make us hold more than `keep`.
  Result<std::optional<ReceivedMessage>> receive(size_t keep);
  // Sends one frame without blocking; more=true when further frames of the message follow.
  // EAGAIN (queue full) and EHOSTUNREACH (ROUTER_MANDATORY, peer gone) are errors.
  Status send(ByteView frame, bool more);
  // send() without copying frame: libzmq keeps `owner` (which keeps frame's bytes alive and
  // unchanged) until it is done with them, and releases it from whichever thread that is (its
  // I/O thread, once the frame is encoded). On an error owner is released before returning.
  Status send_owned(std::shared_ptr<const void> owner, ByteView frame, bool more);

 private:
  Socket(ContextState* context, zmq::socket_t socket);
  void close() noexcept;

  ContextState* context_ = nullptr;
  zmq::socket_t socket_;
};

// Waits up to timeout (negative: forever) for any item's events; returns how many items are
// ready, 0 on timeout or when a signal interrupted the wait (EINTR).
Result<int> poll(std::span<zmq_pollitem_t> items, std::chrono::milliseconds timeout);

// Milliseconds left until deadline, never negative.
std::chrono::milliseconds remaining(std::chrono::steady_clock::time_point deadline);

}  // namespace gongshu::wire::detail
