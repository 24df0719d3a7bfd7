#include "core/wire/server_channel.h"

#include <algorithm>
#include <thread>
#include <utility>
#include <vector>

#include "core/util/check.h"
#include "core/wire/detail/context_state.h"
#include "core/wire/detail/socket.h"
#include "core/wire/detail/zap_state.h"

namespace gongshu::wire {
namespace {

// ZMQ_ZAP_ENFORCE_DOMAIN is a DRAFT option of libzmq 4.3 that zmq.h hides unless
// ZMQ_BUILD_DRAFT_API is defined, but Debian 12's libzmq 4.3.4 accepts and honours it (checked:
// without it, a CURVE server whose context has no ZAP handler accepts every client key).
constexpr int kZapEnforceDomain = 93;
constexpr size_t kMaxZapDomainSize = 255;

}  // namespace

struct ServerChannel::Impl {
  Impl(detail::Socket s, ZapHandler::State* z, ServerOptions o)
      : socket(std::move(s)), zap(z), options(std::move(o)) {
    zap->servers_attached.fetch_add(1);
  }
  ~Impl() { zap->servers_attached.fetch_sub(1); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  detail::Socket socket;
  ZapHandler::State* zap;
  ServerOptions options;
  std::vector<std::string> bound;  // resolved endpoints, for drop_connections
};

Result<ServerChannel> ServerChannel::create(Context& context, const ZapHandler& zap,
                                            const crypto::IdentityKey& identity,
                                            const ServerOptions& options) {
  detail::ContextState& ctx = detail::state_of(context);
  if (!zap.state_ || zap.state_->context != &ctx) {
    return fail(ErrorCode::kInvalidArgument,
                "server channel: the ZAP handler must run on the channel's context");
  }
  if (options.zap_domain.empty() || options.zap_domain.size() > kMaxZapDomainSize) {
    return fail(ErrorCode::kInvalidArgument, "server channel: the ZAP domain must be 1..255 bytes");
  }
  if (options.max_message_size == 0 ||
      options.max_message_size > size_t{INT32_MAX} - kCurveMessageOverhead) {
    return fail(ErrorCode::kInvalidArgument, "server channel: max_message_size out of range");
  }
  if (options.linger.count() < 0 || options.linger.count() > INT32_MAX) {
    return fail(ErrorCode::kInvalidArgument, "server channel: linger out of range");
  }
  auto ctx_error = [](Error e) {
    return tl::unexpected(std::move(e).with_context("server channel"));
  };

  auto socket = detail::Socket::open(ctx, zmq::socket_type::router, options.linger);
  if (!socket) return ctx_error(std::move(socket).error());
  const crypto::SecretBytes& secret = identity.curve_secret();
  auto configured =
      socket->set_int(ZMQ_ROUTER_MANDATORY, 1, "ZMQ_ROUTER_MANDATORY")
          .and_then([&] { return socket->set_int(ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER"); })
          .and_then([&] {
            return socket->set_bytes(ZMQ_CURVE_SECRETKEY, secret.view(), "ZMQ_CURVE_SECRETKEY");
          })
          .and_then([&] {
            return socket->set_bytes(ZMQ_ZAP_DOMAIN, as_bytes(options.zap_domain),
                                     "ZMQ_ZAP_DOMAIN");
          })
          .and_then([&] { return socket->set_int(kZapEnforceDomain, 1, "ZMQ_ZAP_ENFORCE_DOMAIN"); })
          .and_then([&] {
            return socket->set_int64(
                ZMQ_MAXMSGSIZE,
                static_cast<int64_t>(options.max_message_size + kCurveMessageOverhead),
                "ZMQ_MAXMSGSIZE");
          });
  if (!configured) return ctx_error(std::move(configured).error());
  return ServerChannel(std::make_unique<Impl>(std::move(*socket), zap.state_.get(), options));
}

ServerChannel::ServerChannel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServerChannel::ServerChannel(ServerChannel&& other) noexcept = default;
ServerChannel& ServerChannel::operator=(ServerChannel&& other) noexcept = default;
ServerChannel::~ServerChannel() = default;

const ServerOptions& ServerChannel::options() const { return impl_->options; }

void* ServerChannel::poll_handle() { return impl_->socket.handle(); }

Result<std::string> ServerChannel::bind(std::string_view endpoint) {
  GONGSHU_CHECK(impl_ != nullptr);
  if (endpoint.starts_with("inproc://")) {
    return fail(
        ErrorCode::kInvalidArgument,
        "server channel: inproc endpoints bypass CURVE authentication: " + std::string(endpoint));
  }
  GONGSHU_RETURN_IF_ERROR(
      with_context(impl_->socket.bind(std::string(endpoint)), "server channel"));
  GONGSHU_TRY(std::string resolved, with_context(impl_->socket.last_endpoint(), "server channel"));
  impl_->bound.push_back(resolved);
  return resolved;
}

Status ServerChannel::drop_connections(std::chrono::milliseconds rebind_timeout) {
  GONGSHU_CHECK(impl_ != nullptr);
  for (const std::string& endpoint : impl_->bound) {
    GONGSHU_RETURN_IF_ERROR(with_context(impl_->socket.unbind(endpoint), "server channel"));
  }
  // The old listeners close on libzmq's I/O thread; until they have, their ports are in use.
  const auto deadline = std::chrono::steady_clock::now() + rebind_timeout;
  for (const std::string& endpoint : impl_->bound) {
    auto wait = std::chrono::milliseconds(1);
    while (true) {
      auto s = impl_->socket.bind(endpoint);
      if (s) break;
      if (s.error().code() != ErrorCode::kAlreadyExists ||
          std::chrono::steady_clock::now() >= deadline) {
        return fail(ErrorCode::kUnavailable,
                    "server channel: listen again at " + endpoint +
                        " after dropping its connections: " + s.error().message());
      }
      std::this_thread::sleep_for(wait);  // bounded by the deadline; the port frees in ms
      wait = std::min(wait * 2, std::chrono::milliseconds(50));
    }
  }
  return {};
}

Result<std::optional<Incoming>> ServerChannel::receive(std::chrono::milliseconds timeout) {
  GONGSHU_CHECK(impl_ != nullptr);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  zmq_pollitem_t item{impl_->socket.handle(), 0, ZMQ_POLLIN, 0};
  GONGSHU_TRY(int ready, with_context(detail::poll({&item, 1}, detail::remaining(deadline)),
                                      "server channel"));
  if (ready == 0) return std::nullopt;
  // Keep the routing id and the first two payload frames: enough to tell one frame from many.
  GONGSHU_TRY(auto message, with_context(impl_->socket.receive(3), "server channel"));
  if (!message) return std::nullopt;
  auto& frames = message->frames;
  if (frames.empty() || frames[0].size() == 0) {
    return fail(ErrorCode::kInternal, "server channel: message without a routing id");
  }
  const uint8_t* id = static_cast<const uint8_t*>(frames[0].data());
  RoutingId from{Bytes(id, id + frames[0].size())};
  size_t payload_frames = message->frame_count - 1;
  if (payload_frames != 1) {
    return fail(ErrorCode::kCorrupt, "server channel: dropped a message of " +
                                         std::to_string(payload_frames) +
                                         " frames (one was expected)");
  }
  zmq::message_t& payload = frames[1];
  if (payload.size() == 0) {
    return fail(ErrorCode::kCorrupt, "server channel: dropped an empty message");
  }
  // Every connection passed ZAP, which always sets a User-Id; a message without one did not
  // come through our handshake and is not served.
  const char* user_id = zmq_msg_gets(payload.handle(), "User-Id");
  if (user_id == nullptr || *user_id == '\0') {
    return fail(ErrorCode::kUnauthenticated,
                "server channel: dropped a message from a connection with no ZAP identity");
  }
  const char* peer = zmq_msg_gets(payload.handle(), "Peer-Address");
  const uint8_t* data = static_cast<const uint8_t*>(payload.data());
  return Incoming{std::move(from), std::string(user_id), Bytes(data, data + payload.size()),
                  peer ? std::string(peer) : std::string()};
}

Status ServerChannel::send(const RoutingId& to, ByteView payload) {
  GONGSHU_CHECK(impl_ != nullptr);
  if (payload.empty()) {
    return fail(ErrorCode::kInvalidArgument, "server channel: refusing to send an empty message");
  }
  if (auto sent = impl_->socket.send(to.bytes, true); !sent) {
    // With ROUTER_MANDATORY, EHOSTUNREACH is an unknown peer and EAGAIN a full queue; both are
    // reported on the routing-id frame, before anything is queued.
    return tl::unexpected(std::move(sent).error().with_context("server channel: send to peer"));
  }
  return with_context(impl_->socket.send(payload, false), "server channel: send to peer");
}

}  // namespace gongshu::wire
