#include "core/wire/detail/socket.h"

#include <cerrno>
#include <utility>

#include "core/wire/detail/zmq_error.h"

namespace gongshu::wire::detail {

Result<Socket> Socket::open(ContextState& context, zmq::socket_type type,
                            std::chrono::milliseconds linger) {
  try {
    zmq::socket_t s(context.context, type);
    context.open_sockets.fetch_add(1);
    Socket socket(&context, std::move(s));
    GONGSHU_RETURN_IF_ERROR(
        socket.set_int(ZMQ_LINGER, static_cast<int>(linger.count()), "ZMQ_LINGER"));
    return socket;
  } catch (const zmq::error_t& e) {
    return tl::unexpected(zmq_error("zmq socket", e.num()));
  }
}

Socket::Socket(ContextState* context, zmq::socket_t socket)
    : context_(context), socket_(std::move(socket)) {}

Socket::Socket(Socket&& other) noexcept
    : context_(std::exchange(other.context_, nullptr)), socket_(std::move(other.socket_)) {}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    context_ = std::exchange(other.context_, nullptr);
    socket_ = std::move(other.socket_);
  }
  return *this;
}

Socket::~Socket() { close(); }

void Socket::close() noexcept {
  if (context_ == nullptr) return;
  // zmq_close only fails for an invalid handle, which would be our bug; nothing to do about it
  // in a destructor, and the count must still go down.
  socket_.close();
  context_->open_sockets.fetch_sub(1);
  context_ = nullptr;
}

Status Socket::set_int(int option, int value, std::string_view name) {
  if (zmq_setsockopt(handle(), option, &value, sizeof value) != 0) {
    return tl::unexpected(zmq_error(std::string("setting ") + std::string(name), zmq_errno()));
  }
  return {};
}

Status Socket::set_int64(int option, int64_t value, std::string_view name) {
  if (zmq_setsockopt(handle(), option, &value, sizeof value) != 0) {
    return tl::unexpected(zmq_error(std::string("setting ") + std::string(name), zmq_errno()));
  }
  return {};
}

Status Socket::set_bytes(int option, ByteView value, std::string_view name) {
  if (zmq_setsockopt(handle(), option, value.data(), value.size()) != 0) {
    return tl::unexpected(zmq_error(std::string("setting ") + std::string(name), zmq_errno()));
  }
  return {};
}

Status Socket::bind(const std::string& endpoint) {
  if (zmq_bind(handle(), endpoint.c_str()) != 0) {
    return tl::unexpected(zmq_error("bind " + endpoint, zmq_errno()));
  }
  return {};
}

Status Socket::unbind(const std::string& endpoint) {
  if (zmq_unbind(handle(), endpoint.c_str()) != 0) {
    return tl::unexpected(zmq_error("unbind " + endpoint, zmq_errno()));
  }
  return {};
}

Status Socket::connect(const std::string& endpoint) {
  if (zmq_connect(handle(), endpoint.c_str()) != 0) {
    return tl::unexpected(zmq_error("connect " + endpoint, zmq_errno()));
  }
  return {};
}

Result<std::string> Socket::last_endpoint() {
  char buf[1024];
  size_t size = sizeof buf;
  if (zmq_getsockopt(handle(), ZMQ_LAST_ENDPOINT, buf, &size) != 0) {
    return tl::unexpected(zmq_error("reading ZMQ_LAST_ENDPOINT", zmq_errno()));
  }
  // The value is NUL-terminated and size counts the NUL.
  while (size > 0 && buf[size - 1] == '\0') --size;
  return std::string(buf, size);
}

Result<std::optional<ReceivedMessage>> Socket::receive(size_t keep) {
  ReceivedMessage out;
  bool more = true;
  while (more) {
    zmq::message_t frame;
    // Only the first frame can be missing; libzmq delivers a multipart message whole.
    int flags = out.frame_count == 0 ? ZMQ_DONTWAIT : 0;
    if (zmq_msg_recv(frame.handle(), handle(), flags) < 0) {
      int err = zmq_errno();
      if (out.frame_count == 0 && (err == EAGAIN || err == EINTR)) return std::nullopt;
      return tl::unexpected(zmq_error("zmq receive", err));
    }
    more = frame.more();
    ++out.frame_count;
    if (out.frames.size() < keep) out.frames.push_back(std::move(frame));
  }
  return out;
}

Status Socket::send(ByteView frame, bool more) {
  int flags = ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0);
  if (zmq_send(handle(), frame.data(), frame.size(), flags) < 0) {
    return tl::unexpected(zmq_error("zmq send", zmq_errno()));
  }
  return {};
}

namespace {
// libzmq's free function for a zero-copy frame: drops the reference send_owned() gave it.
void release_owner(void* /*data*/, void* hint) {
  delete static_cast<std::shared_ptr<const void>*>(hint);
}
}  // namespace

Status Socket::send_owned(std::shared_ptr<const void> owner, ByteView frame, bool more) {
  auto* hold = new std::shared_ptr<const void>(std::move(owner));
  zmq_msg_t msg;
  // libzmq only reads the bytes; its API takes them non-const.
  if (zmq_msg_init_data(&msg, const_cast<uint8_t*>(frame.data()), frame.size(), release_owner,
                        hold) != 0) {
    delete hold;
    return tl::unexpected(zmq_error("zmq msg_init_data", zmq_errno()));
  }
  int flags = ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0);
  if (zmq_msg_send(&msg, handle(), flags) < 0) {
    int err = zmq_errno();
    zmq_msg_close(&msg);  // not sent: still ours, and closing it releases hold
    return tl::unexpected(zmq_error("zmq send", err));
  }
  return {};
}

Result<int> poll(std::span<zmq_pollitem_t> items, std::chrono::milliseconds timeout) {
  long ms = timeout.count() < 0 ? -1L : static_cast<long>(timeout.count());
  int rc = zmq_poll(items.data(), static_cast<int>(items.size()), ms);
  if (rc < 0) {
    int err = zmq_errno();
    if (err == EINTR) return 0;
    return tl::unexpected(zmq_error("zmq poll", err));
  }
  return rc;
}

std::chrono::milliseconds remaining(std::chrono::steady_clock::time_point deadline) {
  auto left =
      std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

}  // namespace gongshu::wire::detail
