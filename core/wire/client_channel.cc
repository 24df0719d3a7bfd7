#include "core/wire/client_channel.h"

#include <cstring>
#include <string>
#include <utility>

#include "core/util/check.h"
#include "core/wire/curve_key.h"
#include "core/wire/detail/context_state.h"
#include "core/wire/detail/socket.h"
#include "core/wire/detail/zmq_error.h"

namespace gongshu::wire {
namespace {

constexpr int kMonitoredEvents = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_DISCONNECTED;

// A version-1 monitor event: a 6-byte frame (uint16 event, uint32 value, host byte order)
// followed by the endpoint.
constexpr size_t kMonitorEventFrameSize = 6;

Status check_duration(std::chrono::milliseconds d, std::string_view name) {
  if (d.count() < 0 || d.count() > INT32_MAX) {
    return fail(ErrorCode::kInvalidArgument,
                "client channel: " + std::string(name) + " out of range");
  }
  return {};
}

}  // namespace

struct ClientChannel::Impl {
  Impl(detail::Socket s, detail::Socket m) : socket(std::move(s)), monitor(std::move(m)) {}
  ~Impl() {
    // Stop the monitor before closing the socket it watches, so libzmq closes its side of the
    // monitor pipe while our reader still exists. It fails only for a socket that is not one,
    // which ours is; a destructor has no one to tell anyway.
    (void)zmq_socket_monitor(socket.handle(), nullptr, 0);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // Reads every queued monitor event and updates state. Returns true if one of them was a
  // refusal of our key.
  bool drain_events() {
    bool refused = false;
    while (true) {
      auto event = monitor.receive(2);
      if (!event || !*event) return refused;
      const auto& frames = (*event)->frames;
      if (frames.empty() || frames[0].size() != kMonitorEventFrameSize) continue;
      uint16_t id;
      std::memcpy(&id, frames[0].data(), sizeof id);
      switch (id) {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
          state = HandshakeState::kConnected;
          break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
          state = HandshakeState::kRefused;
          refused = true;
          break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
          if (state != HandshakeState::kRefused) state = HandshakeState::kFailed;
          break;
        case ZMQ_EVENT_DISCONNECTED:
          if (state == HandshakeState::kConnected) state = HandshakeState::kDisconnected;
          break;
        default:
          break;
      }
    }
  }

  detail::Socket socket;   // DEALER
  detail::Socket monitor;  // PAIR, connected to the socket's monitor endpoint
  HandshakeState state = HandshakeState::kNotConnected;
  bool connect_called = false;
};

Result<ClientChannel> ClientChannel::create(Context& context, const crypto::IdentityKey& identity,
                                            const crypto::PublicKey& daemon_key,
                                            const ClientOptions& options) {
  if (options.max_message_size == 0 ||
      options.max_message_size > size_t{INT32_MAX} - kCurveMessageOverhead) {
    return fail(ErrorCode::kInvalidArgument, "client channel: max_message_size out of range");
  }
  GONGSHU_RETURN_IF_ERROR(check_duration(options.linger, "linger"));
  GONGSHU_RETURN_IF_ERROR(check_duration(options.reconnect_interval, "reconnect_interval"));
  GONGSHU_RETURN_IF_ERROR(check_duration(options.reconnect_interval_max, "reconnect_interval_max"));
  GONGSHU_TRY(CurveKey server_key,
              with_context(curve_key_of(daemon_key), "client channel: daemon key"));
  GONGSHU_TRY(CurveKey own_key,
              with_context(curve_key_of(identity.public_key()), "client channel: own key"));
  const crypto::SecretBytes& secret = identity.curve_secret();

  detail::ContextState& ctx = detail::state_of(context);
  auto in_context = [](Error e) {
    return tl::unexpected(std::move(e).with_context("client channel"));
  };
  auto socket = detail::Socket::open(ctx, zmq::socket_type::dealer, options.linger);
  if (!socket) return in_context(std::move(socket).error());
  auto configured =
      socket->set_bytes(ZMQ_CURVE_SERVERKEY, server_key, "ZMQ_CURVE_SERVERKEY")
          .and_then([&] {
            return socket->set_bytes(ZMQ_CURVE_PUBLICKEY, own_key, "ZMQ_CURVE_PUBLICKEY");
          })
          .and_then([&] {
            return socket->set_bytes(ZMQ_CURVE_SECRETKEY, secret.view(), "ZMQ_CURVE_SECRETKEY");
          })
          .and_then([&] {
            return socket->set_int64(
                ZMQ_MAXMSGSIZE,
                static_cast<int64_t>(options.max_message_size + kCurveMessageOverhead),
                "ZMQ_MAXMSGSIZE");
          })
          .and_then([&] {
            return socket->set_int(ZMQ_RECONNECT_IVL,
                                   static_cast<int>(options.reconnect_interval.count()),
                                   "ZMQ_RECONNECT_IVL");
          })
          .and_then([&] {
            return socket->set_int(ZMQ_RECONNECT_IVL_MAX,
                                   static_cast<int>(options.reconnect_interval_max.count()),
                                   "ZMQ_RECONNECT_IVL_MAX");
          });
  if (!configured) return in_context(std::move(configured).error());

  // The monitor must exist before connect() so that no handshake event is missed.
  std::string endpoint = ctx.unique_inproc_endpoint("monitor");
  if (zmq_socket_monitor(socket->handle(), endpoint.c_str(), kMonitoredEvents) != 0) {
    return in_context(detail::zmq_error("starting the socket monitor", zmq_errno()));
  }
  auto monitor = detail::Socket::open(ctx, zmq::socket_type::pair, std::chrono::milliseconds(0));
  if (!monitor) {
    // Clean-up on a path that already fails: the error returned is the one that matters.
    (void)zmq_socket_monitor(socket->handle(), nullptr, 0);
    return in_context(std::move(monitor).error());
  }
  // libzmq sends monitor events with a blocking send from its I/O thread: a bounded pipe that
  // fills up (nobody reading events) would stall the I/O thread. An inproc pipe is unbounded
  // when either side's high-water mark is 0, so ours is 0 and send()/receive() drain it.
  auto connected = monitor->set_int(ZMQ_RCVHWM, 0, "ZMQ_RCVHWM").and_then([&] {
    return monitor->connect(endpoint);
  });
  if (!connected) {
    // Clean-up on a path that already fails, as above.
    (void)zmq_socket_monitor(socket->handle(), nullptr, 0);
    return in_context(std::move(connected).error());
  }
  return ClientChannel(std::make_unique<Impl>(std::move(*socket), std::move(*monitor)));
}

ClientChannel::ClientChannel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClientChannel::ClientChannel(ClientChannel&& other) noexcept = default;
ClientChannel& ClientChannel::operator=(ClientChannel&& other) noexcept = default;
ClientChannel::~ClientChannel() = default;

void* ClientChannel::poll_handle() { return impl_->socket.handle(); }
void* ClientChannel::monitor_poll_handle() { return impl_->monitor.handle(); }

Status ClientChannel::connect(std::string_view endpoint) {
  GONGSHU_CHECK(impl_ != nullptr);
  if (impl_->connect_called) {
    return fail(ErrorCode::kInvalidArgument, "client channel: already connected");
  }
  GONGSHU_RETURN_IF_ERROR(
      with_context(impl_->socket.connect(std::string(endpoint)), "client channel"));
  impl_->connect_called = true;
  return {};
}

Status ClientChannel::send(ByteView payload) {
  GONGSHU_CHECK(impl_ != nullptr);
  impl_->drain_events();
  if (payload.empty()) {
    return fail(ErrorCode::kInvalidArgument, "client channel: refusing to send an empty message");
  }
  return with_context(impl_->socket.send(payload, false), "client channel: send");
}

Status ClientChannel::send_owned(std::shared_ptr<const void> owner, ByteView payload) {
  GONGSHU_CHECK(impl_ != nullptr);
  impl_->drain_events();
  if (payload.empty()) {
    return fail(ErrorCode::kInvalidArgument, "client channel: refusing to send an empty message");
  }
  return with_context(impl_->socket.send_owned(std::move(owner), payload, false),
                      "client channel: send");
}

Result<std::optional<Bytes>> ClientChannel::receive(std::chrono::milliseconds timeout) {
  GONGSHU_CHECK(impl_ != nullptr);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (impl_->drain_events()) {
      return fail(ErrorCode::kUnauthenticated,
                  "client channel: the daemon refused our key (not enrolled, or revoked)");
    }
    // Keep two frames: enough to tell one frame from many.
    GONGSHU_TRY(auto message, with_context(impl_->socket.receive(2), "client channel"));
    if (message) {
      if (message->frame_count != 1) {
        return fail(ErrorCode::kCorrupt, "client channel: dropped a message of " +
                                             std::to_string(message->frame_count) +
                                             " frames (one was expected)");
      }
      const zmq::message_t& frame = message->frames[0];
      if (frame.size() == 0) {
        return fail(ErrorCode::kCorrupt, "client channel: dropped an empty message");
      }
      const uint8_t* data = static_cast<const uint8_t*>(frame.data());
      return Bytes(data, data + frame.size());
    }
    auto left = detail::remaining(deadline);
    if (left.count() == 0) return std::nullopt;
    zmq_pollitem_t items[2] = {{impl_->socket.handle(), 0, ZMQ_POLLIN, 0},
                               {impl_->monitor.handle(), 0, ZMQ_POLLIN, 0}};
    GONGSHU_TRY(int ready, with_context(detail::poll(items, left), "client channel"));
    // A signal ends the wait early, like a timeout, so the caller's loop can react to it.
    if (ready == 0) return std::nullopt;
  }
}

HandshakeState ClientChannel::handshake_state() {
  GONGSHU_CHECK(impl_ != nullptr);
  impl_->drain_events();
  return impl_->state;
}

}  // namespace gongshu::wire
