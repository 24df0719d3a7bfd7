// ZapHandler: the ZAP (ZeroMQ RFC 27) authentication handler of one Context. libzmq asks it, for
// every incoming CURVE handshake on a ServerChannel of that Context, whether the client's key may
// connect; the handler asks the ZapAuthorizer callback, and the identity string the callback
// returns becomes the connection's ZAP User-Id, which the ServerChannel hands to the daemon with
// every message from that connection (Incoming::user_id).
//
// Authentication happens once per connection, at the handshake. Changing the callback's answer
// (a key revoked) refuses the next new connection of that key, but a connection that already
// passed stays up: the daemon must still check the User-Id of each message against its current
// state.
//
// start() binds inproc://zeromq.zap.01 before it returns, so a ServerChannel (which requires a
// running ZapHandler of its Context) can never bind unguarded. Answers: 200 with the callback's
// identity; 400 when the callback refuses, or for a mechanism other than CURVE; 500 for a
// malformed request (wrong frame count, version or sizes), a callback that throws, or an empty
// or over-long identity. A malformed request never stops the handler.
//
// Ownership and threads: the handler runs its own thread, which is the only caller of the
// callback; the callback must therefore be safe to run concurrently with whatever else touches
// the state it reads (e.g. take a mutex around the daemon's key map), and it should be quick,
// since handshakes wait for it. The destructor stops and joins the thread. Destroy the
// ZapHandler after every ServerChannel made with it (aborts otherwise: a server without its
// handler would refuse every client) and before its Context. stats() and running() may be called
// from any thread. Move-only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/util/error.h"
#include "core/wire/context.h"
#include "core/wire/curve_key.h"

namespace gongshu::wire {

class ServerChannel;

// Returns the identity the client is known by (non-empty, at most kMaxZapUserIdSize bytes), or
// nullopt to refuse it. zap_domain is the ZAP domain of the server socket being connected to
// (ServerOptions::zap_domain), so one handler can serve sockets with different rules.
using ZapAuthorizer =
    std::function<std::optional<std::string>(const CurveKey& client, std::string_view zap_domain)>;

inline constexpr size_t kMaxZapUserIdSize = 255;

// Counters since start, for tests and the daemon's status report.
struct ZapStats {
  uint64_t accepted = 0;   // answered 200
  uint64_t refused = 0;    // answered 400
  uint64_t malformed = 0;  // answered 500: the request broke RFC 27
  uint64_t errors = 0;     // answered 500: the callback threw or returned an unusable identity
};

class ZapHandler {
 public:
  // Binds inproc://zeromq.zap.01 on context and starts the handler thread. Fails with
  // kAlreadyExists if the context already has a ZAP handler.
  static Result<ZapHandler> start(Context& context, ZapAuthorizer authorize);

  ZapHandler(ZapHandler&& other) noexcept;
  ZapHandler& operator=(ZapHandler&& other) noexcept;
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;
  ~ZapHandler();

  ZapStats stats() const;
  // False once the thread has stopped on an unexpected libzmq error. Handshakes then stall and
  // time out (fail closed); a daemon's watchdog should treat false as fatal.
  bool running() const;

  struct State;  // shared with ServerChannel, which registers itself while it exists

 private:
  friend class ServerChannel;
  explicit ZapHandler(std::unique_ptr<State> state);
  void stop() noexcept;

  std::unique_ptr<State> state_;
};

}  // namespace gongshu::wire
