// ClientChannel: an agent's or a tool's end of a gongshu socket — a ZeroMQ DEALER that is a
// CURVE client under its own identity key, talking to one daemon whose Ed25519 public key it is
// given (a wrong key fails the handshake, so the daemon is authenticated too). Messages are one
// frame each; replies come back in the order the daemon sends them.
//
// A socket monitor watches the handshake, so the client learns when the daemon refuses its key
// (HandshakeState::kRefused) — libzmq then gives up on that connection for good; make a new
// ClientChannel to try again (e.g. after enrolling). Events are read whenever receive(),
// handshake_state() or a Poller wait on this channel runs; nothing happens in the background.
//
// Inbound messages are limited by ZMQ_MAXMSGSIZE (an oversize one drops the connection, which
// libzmq re-establishes) and must be one non-empty frame. Sends never block.
//
// Ownership and threads: owns its socket and the monitor's socket; destroy it before its Context.
// Use it from one thread at a time (it may move between threads across a happens-before edge).
// Move-only. The identity's secret key is copied into libzmq's socket options.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "core/crypto/identity.h"
#include "core/util/bytes.h"
#include "core/util/error.h"
#include "core/wire/context.h"
#include "core/wire/handshake_state.h"
#include "core/wire/message_limits.h"

namespace gongshu::wire {

class Poller;

struct ClientOptions {
  // Largest payload accepted from the daemon; a bigger one drops the connection.
  size_t max_message_size = kDefaultMaxMessageSize;
  // How long destruction waits to flush unsent messages. 0: discard them.
  std::chrono::milliseconds linger{0};
  // First wait before reconnecting after a lost or failed connection (ZMQ_RECONNECT_IVL).
  std::chrono::milliseconds reconnect_interval{100};
  // Upper bound of the exponential back-off of that wait (ZMQ_RECONNECT_IVL_MAX); 0 keeps the
  // interval constant.
  std::chrono::milliseconds reconnect_interval_max{0};
};

class ClientChannel {
 public:
  // Makes the socket, sets its CURVE keys (the daemon's key converted to X25519) and options and
  // starts the monitor; it does not connect.
  static Result<ClientChannel> create(Context& context, const crypto::IdentityKey& identity,
                                      const crypto::PublicKey& daemon_key,
                                      const ClientOptions& options = {});

  ClientChannel(ClientChannel&& other) noexcept;
  ClientChannel& operator=(ClientChannel&& other) noexcept;
  ClientChannel(const ClientChannel&) = delete;
  ClientChannel& operator=(const ClientChannel&) = delete;
  ~ClientChannel();

  // Starts connecting (in the background; it succeeds even if the daemon is down). Call once;
  // a second call is kInvalidArgument. Bad endpoint syntax: kInvalidArgument.
  Status connect(std::string_view endpoint);

  // Queues payload (non-empty) for the daemon without blocking. After connect(), messages sent
  // before the handshake completes wait in the queue. kUnavailable: the queue is full, or
  // connect() has not been called (there is no queue yet).
  Status send(ByteView payload);
  // send() without a copy of payload: libzmq holds `owner`, which must keep payload's bytes
  // alive and unchanged, until it has encrypted and written them (released from its I/O thread).
  // For large messages (an agent's sealed batch); same errors as send().
  Status send_owned(std::shared_ptr<const void> owner, ByteView payload);

  // Waits up to timeout for one message from the daemon. nullopt: nothing arrived (or a signal
  // interrupted the wait). Errors:
  // kUnauthenticated when the daemon refused our key at a handshake during this call (the wait
  // ends early); kCorrupt when a malformed message was dropped (call again); others mean the
  // socket failed.
  Result<std::optional<Bytes>> receive(std::chrono::milliseconds timeout);

  // The handshake state after reading every pending monitor event. Not const: it consumes them.
  HandshakeState handshake_state();

 private:
  friend class Poller;
  struct Impl;
  explicit ClientChannel(std::unique_ptr<Impl> impl);
  void* poll_handle();
  void* monitor_poll_handle();

  std::unique_ptr<Impl> impl_;
};

}  // namespace gongshu::wire
