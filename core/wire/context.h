// Context: the owner of one ZeroMQ context (zmq::context_t) and of the I/O threads behind it.
// Every ZapHandler, ServerChannel and ClientChannel is made from a Context and must be destroyed
// before it: destroying a Context that still has an open socket is a broken invariant and aborts
// (GONGSHU_CHECK) instead of hanging in zmq_ctx_term, which is what libzmq would do. Declare the
// Context first and the objects that use it after it, and C++ destroys them in the right order.
//
// A ZAP handler is per context: the ServerChannels that a ZapHandler guards must share its
// Context. A daemon normally has exactly one Context.
//
// Threads: create and destroy a Context on one thread; making sockets from it (creating channels)
// is safe from any thread. Move-only; a moved-from Context owns nothing.
#pragma once

#include <memory>

#include "core/util/error.h"

namespace gongshu::wire {

class Context;

namespace detail {
struct ContextState;
// core/wire's own access to the libzmq context; not for use outside core/wire and its tests.
ContextState& state_of(Context& context);
}  // namespace detail

class Context {
 public:
  // Creates a context with io_threads libzmq I/O threads (1 is enough below ~1 Gb/s). Fails if
  // libzmq cannot make a context or was built without CURVE.
  static Result<Context> create(int io_threads = 1);

  Context(Context&& other) noexcept;
  Context& operator=(Context&& other) noexcept;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  // Aborts if a socket made from this context is still open (see above).
  ~Context();

  // Sockets currently open through core/wire on this context (channels and ZAP handlers own
  // one to three each). For tests and diagnostics.
  int open_sockets() const;

 private:
  friend detail::ContextState& detail::state_of(Context& context);
  explicit Context(std::unique_ptr<detail::ContextState> state);
  void destroy() noexcept;

  std::unique_ptr<detail::ContextState> state_;
};

}  // namespace gongshu::wire
