#include "core/wire/context.h"

#include <utility>

#include "core/util/check.h"
#include "core/wire/detail/context_state.h"
#include "core/wire/detail/zmq_error.h"

namespace gongshu::wire {

namespace detail {
ContextState& state_of(Context& context) {
  GONGSHU_CHECK_MSG(context.state_ != nullptr, "wire::Context used after it was moved from");
  return *context.state_;
}
}  // namespace detail

Result<Context> Context::create(int io_threads) {
  if (io_threads < 1) {
    return fail(ErrorCode::kInvalidArgument,
                "zmq context: io_threads must be at least 1, got " + std::to_string(io_threads));
  }
  if (zmq_has("curve") != 1) {
    return fail(ErrorCode::kInternal, "zmq context: libzmq was built without CURVE support");
  }
  try {
    auto state = std::make_unique<detail::ContextState>();
    state->context.set(zmq::ctxopt::io_threads, io_threads);
    // Each socket sets ZMQ_LINGER itself; this makes any socket we forget fail safe (no hang).
    state->context.set(zmq::ctxopt::blocky, 0);
    return Context(std::move(state));
  } catch (const zmq::error_t& e) {
    return tl::unexpected(detail::zmq_error("zmq context", e.num()));
  } catch (const std::bad_alloc&) {
    return fail(ErrorCode::kResourceExhausted, "zmq context: out of memory");
  }
}

Context::Context(std::unique_ptr<detail::ContextState> state) : state_(std::move(state)) {}

Context::Context(Context&& other) noexcept = default;

Context& Context::operator=(Context&& other) noexcept {
  if (this != &other) {
    destroy();
    state_ = std::move(other.state_);
  }
  return *this;
}

Context::~Context() { destroy(); }

void Context::destroy() noexcept {
  if (!state_) return;
  GONGSHU_CHECK_MSG(state_->open_sockets.load() == 0,
                    "wire::Context destroyed while a channel or ZAP handler made from it is open");
  state_.reset();
}

int Context::open_sockets() const { return state_ ? state_->open_sockets.load() : 0; }

}  // namespace gongshu::wire
