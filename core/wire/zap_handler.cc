#include "core/wire/zap_handler.h"

#include <algorithm>
#include <exception>
#include <utility>
#include <vector>

#include "core/util/check.h"
#include "core/wire/detail/zap_state.h"
#include "core/wire/detail/zmq_error.h"

namespace gongshu::wire {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr std::string_view kZapVersion = "1.0";
// RFC 27: version, request id, domain, address, identity, mechanism, then credentials.
constexpr size_t kZapHeaderFrames = 6;
// Anything past this is not a ZAP request libzmq would send; it is read and discarded.
constexpr size_t kMaxZapFrames = 16;
// Every ZAP frame libzmq sends is a short string or a 32-byte key.
constexpr size_t kMaxZapFrameSize = 255;

struct Reply {
  std::string_view status;  // "200", "400", "500"
  std::string_view text;
  std::string user_id;
};

std::string_view frame_view(const zmq::message_t& m) {
  return {static_cast<const char*>(m.data()), m.size()};
}

// Decides one request. frames holds at most kMaxZapFrames leading frames of frame_count.
Reply decide(ZapHandler::State& s, const std::vector<zmq::message_t>& frames, size_t frame_count) {
  auto malformed = [&s](std::string_view why) {
    s.malformed.fetch_add(1);
    return Reply{"500", why, {}};
  };
  if (frame_count < kZapHeaderFrames || frame_count > kMaxZapFrames) {
    return malformed("malformed ZAP request: wrong number of frames");
  }
  for (const auto& f : frames) {
    if (f.size() > kMaxZapFrameSize) return malformed("malformed ZAP request: oversize frame");
  }
  if (frame_view(frames[0]) != kZapVersion) return malformed("unsupported ZAP version");
  std::string_view domain = frame_view(frames[2]);
  std::string_view mechanism = frame_view(frames[5]);
  if (mechanism != "CURVE") {
    s.refused.fetch_add(1);
    return Reply{"400", "only CURVE is accepted", {}};
  }
  if (frame_count != kZapHeaderFrames + 1 || frames[6].size() != CurveKey{}.size()) {
    return malformed("malformed ZAP request: CURVE credentials are one 32-byte key");
  }
  CurveKey client;
  std::copy_n(static_cast<const uint8_t*>(frames[6].data()), client.size(), client.begin());

  std::optional<std::string> identity;
  try {
    identity = s.authorize(client, domain);
  } catch (...) {
    s.errors.fetch_add(1);
    return Reply{"500", "authorizer failed", {}};
  }
  if (!identity) {
    s.refused.fetch_add(1);
    return Reply{"400", "key not authorised", {}};
  }
  if (identity->empty() || identity->size() > kMaxZapUserIdSize) {
    s.errors.fetch_add(1);
    return Reply{"500", "authorizer returned an unusable identity", {}};
  }
  s.accepted.fetch_add(1);
  return Reply{"200", "OK", std::move(*identity)};
}

// Answers one queued request. A reply that cannot be sent (the requester went away) is dropped;
// the REP socket is then ready for the next request.
void answer_one(ZapHandler::State& s) {
  auto message = s.zap_socket.receive(kMaxZapFrames);
  if (!message || !*message) return;
  const auto& frames = (*message)->frames;
  Reply reply = decide(s, frames, (*message)->frame_count);
  // Echo the request id only when it was well-formed enough to have been read.
  ByteView request_id;
  if (frames.size() >= 2 && frames[1].size() <= kMaxZapFrameSize) {
    request_id = ByteView(static_cast<const uint8_t*>(frames[1].data()), frames[1].size());
  }
  // A REP socket drops a reply its peer cannot take and reports success, so a send fails only
  // while the context terminates: the handler is stopping, and the peer, left without an
  // answer, is never admitted. Nothing else to do with the failure.
  (void)(s.zap_socket.send(as_bytes(kZapVersion), true)
             .and_then([&] { return s.zap_socket.send(request_id, true); })
             .and_then([&] { return s.zap_socket.send(as_bytes(reply.status), true); })
             .and_then([&] { return s.zap_socket.send(as_bytes(reply.text), true); })
             .and_then([&] { return s.zap_socket.send(as_bytes(reply.user_id), true); })
             .and_then([&] { return s.zap_socket.send({}, false); }));
}

void run(ZapHandler::State* s) {
  zmq_pollitem_t items[2] = {{s->zap_socket.handle(), 0, ZMQ_POLLIN, 0},
                             {s->control_in.handle(), 0, ZMQ_POLLIN, 0}};
  while (true) {
    auto ready = detail::poll(items, std::chrono::milliseconds(-1));
    if (!ready) break;  // not EINTR (poll absorbs it): the context is gone or broken
    if (items[1].revents & ZMQ_POLLIN) break;
    if (items[0].revents & ZMQ_POLLIN) answer_one(*s);
  }
  s->running.store(false);
}

}  // namespace

Result<ZapHandler> ZapHandler::start(Context& context, ZapAuthorizer authorize) {
  GONGSHU_CHECK_MSG(static_cast<bool>(authorize), "ZapHandler needs an authorizer");
  detail::ContextState& ctx = detail::state_of(context);
  auto linger = std::chrono::milliseconds(0);
  GONGSHU_TRY(auto zap, detail::Socket::open(ctx, zmq::socket_type::rep, linger));
  if (auto bound = zap.bind(kZapEndpoint); !bound) {
    if (bound.error().code() == ErrorCode::kAlreadyExists) {
      return fail(ErrorCode::kAlreadyExists, "ZAP handler: this context already has one");
    }
    return tl::unexpected(std::move(bound).error().with_context("ZAP handler"));
  }
  std::string control = ctx.unique_inproc_endpoint("zap-control");
  GONGSHU_TRY(auto in, detail::Socket::open(ctx, zmq::socket_type::pair, linger));
  GONGSHU_RETURN_IF_ERROR(with_context(in.bind(control), "ZAP handler"));
  GONGSHU_TRY(auto out, detail::Socket::open(ctx, zmq::socket_type::pair, linger));
  GONGSHU_RETURN_IF_ERROR(with_context(out.connect(control), "ZAP handler"));

  auto state = std::make_unique<State>(&ctx, std::move(authorize), std::move(zap), std::move(in),
                                       std::move(out));
  state->running.store(true);
  try {
    state->thread = std::thread(run, state.get());
  } catch (const std::system_error& e) {
    return fail(ErrorCode::kResourceExhausted,
                std::string("ZAP handler: cannot start thread: ") + e.what());
  }
  return ZapHandler(std::move(state));
}

ZapHandler::ZapHandler(std::unique_ptr<State> state) : state_(std::move(state)) {}

ZapHandler::ZapHandler(ZapHandler&& other) noexcept = default;

ZapHandler& ZapHandler::operator=(ZapHandler&& other) noexcept {
  if (this != &other) {
    stop();
    state_ = std::move(other.state_);
  }
  return *this;
}

ZapHandler::~ZapHandler() { stop(); }

void ZapHandler::stop() noexcept {
  if (!state_) return;
  GONGSHU_CHECK_MSG(state_->servers_attached.load() == 0,
                    "ZapHandler destroyed while a ServerChannel made with it is open");
  if (state_->thread.joinable()) {
    // The PAIR pipe to control_in exists since start(), and a one-frame message to an idle
    // inproc peer cannot block; if the send fails, the thread has already stopped by itself.
    (void)state_->control_out.send(as_bytes(std::string_view("stop")), false);
    state_->thread.join();
  }
  state_.reset();
}

ZapStats ZapHandler::stats() const {
  if (!state_) return {};
  return ZapStats{state_->accepted.load(), state_->refused.load(), state_->malformed.load(),
                  state_->errors.load()};
}

bool ZapHandler::running() const { return state_ && state_->running.load(); }

}  // namespace gongshu::wire
