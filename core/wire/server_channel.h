// ServerChannel: the daemon's end of a gongshu socket — a ZeroMQ ROUTER that is a CURVE server
// under the daemon's identity key, guarded by a ZapHandler, sending and receiving one-frame
// messages tagged with the sender's routing id and ZAP identity.
//
// Every connection is authenticated: the channel sets ZMQ_ZAP_DOMAIN and ZMQ_ZAP_ENFORCE_DOMAIN,
// so libzmq refuses a handshake unless the ZAP handler approves it, and bind() refuses inproc://
// endpoints, which skip the security handshake altogether. Inbound messages are untrusted:
// ZMQ_MAXMSGSIZE makes libzmq drop the connection of a peer that sends an oversize frame before
// we see it, and receive() drops (and reports) anything that is not exactly one non-empty payload
// frame with a User-Id. Sends are non-blocking and ZMQ_ROUTER_MANDATORY is set, so sending to a
// peer that went away, or whose queue is full, is an error instead of a silent drop or a stall.
//
// Ownership and threads: the channel owns its socket; it must be destroyed before the ZapHandler
// it was made with and before the Context. Use it from one thread at a time (it may be moved to
// another thread across a happens-before edge). Move-only. The identity's secret key is copied
// into libzmq's socket options (libzmq keeps it in ordinary memory for the socket's lifetime).
#pragma once

#include <chrono>
#include <compare>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/crypto/identity.h"
#include "core/util/bytes.h"
#include "core/util/error.h"
#include "core/wire/context.h"
#include "core/wire/message_limits.h"
#include "core/wire/zap_handler.h"

namespace gongshu::wire {

class Poller;

struct ServerOptions {
  // The ZAP domain of this socket, passed to the ZapAuthorizer (1..255 bytes), e.g.
  // "gongshu.ingest" or "gongshu.api".
  std::string zap_domain;
  // Largest payload accepted; a peer sending more is disconnected by libzmq.
  size_t max_message_size = kDefaultMaxMessageSize;
  // How long close() waits to flush unsent replies. 0: discard them.
  std::chrono::milliseconds linger{0};
};

// The ROUTER's name for one connection. Opaque bytes chosen by libzmq; valid as long as the
// connection is, and comparable so a daemon can key per-connection state by it.
struct RoutingId {
  Bytes bytes;
  auto operator<=>(const RoutingId&) const = default;
  bool operator==(const RoutingId&) const = default;
};

// One message from a client.
struct Incoming {
  RoutingId from;
  std::string user_id;  // the identity the ZapAuthorizer returned for this connection
  Bytes payload;        // exactly one frame, 1..max_message_size bytes
  // The peer's network address as libzmq reports it (the "Peer-Address" property: the IP
  // address of a tcp:// peer, without its port); empty when the transport has none (ipc://).
  std::string peer_address;
};

class ServerChannel {
 public:
  // Makes the socket and sets its options; it does not bind. zap must be running on the same
  // context (kInvalidArgument otherwise).
  static Result<ServerChannel> create(Context& context, const ZapHandler& zap,
                                      const crypto::IdentityKey& identity,
                                      const ServerOptions& options);

  ServerChannel(ServerChannel&& other) noexcept;
  ServerChannel& operator=(ServerChannel&& other) noexcept;
  ServerChannel(const ServerChannel&) = delete;
  ServerChannel& operator=(const ServerChannel&) = delete;
  ~ServerChannel();

  // Binds (tcp://host:port, tcp://host:* for an OS-chosen port, ipc://path) and returns the
  // endpoint actually bound, with the port resolved. May be called more than once. inproc:// is
  // refused (kInvalidArgument): it would bypass CURVE and ZAP. kAlreadyExists: address in use.
  Result<std::string> bind(std::string_view endpoint);

  // Closes every connection accepted so far and goes on listening at the same endpoints: each
  // bound endpoint is unbound (libzmq then ends the connections its listener accepted, and
  // drops their queued messages) and bound again at the same resolved address, retrying for
  // up to rebind_timeout while the old listener's port is released. Clients reconnect and pass
  // the ZAP handler again, so a key refused since its handshake stays out. kUnavailable: an
  // endpoint could not be bound again in time (the channel then no longer listens there).
  Status drop_connections(std::chrono::milliseconds rebind_timeout);

  // Waits up to timeout for one message. nullopt: nothing arrived (or a signal interrupted the
  // wait). Error kCorrupt: a malformed message (several frames, an empty frame) arrived and was
  // dropped; kUnauthenticated: a message without a ZAP identity was dropped. After either, the
  // channel is still fine: call receive again. Other errors mean the socket itself failed.
  Result<std::optional<Incoming>> receive(std::chrono::milliseconds timeout);

  // Queues payload (non-empty) for the connection `to`, without blocking. kUnavailable: the peer
  // is gone or its queue is full (the message was not queued). kInvalidArgument: empty payload.
  Status send(const RoutingId& to, ByteView payload);

  const ServerOptions& options() const;

 private:
  friend class Poller;
  struct Impl;
  explicit ServerChannel(std::unique_ptr<Impl> impl);
  void* poll_handle();

  std::unique_ptr<Impl> impl_;
};

}  // namespace gongshu::wire
