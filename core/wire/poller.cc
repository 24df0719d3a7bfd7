#include "core/wire/poller.h"

#include <zmq.h>

#include "core/wire/detail/socket.h"

namespace gongshu::wire {

struct Poller::Impl {
  std::vector<zmq_pollitem_t> items;
  std::vector<size_t> owner;  // items[i] belongs to channel owner[i]
  size_t channels = 0;

  size_t add(std::initializer_list<void*> sockets) {
    for (void* s : sockets) {
      items.push_back(zmq_pollitem_t{s, 0, ZMQ_POLLIN, 0});
      owner.push_back(channels);
    }
    return channels++;
  }
  size_t add_fd(int fd) {
    items.push_back(zmq_pollitem_t{nullptr, fd, ZMQ_POLLIN, 0});
    owner.push_back(channels);
    return channels++;
  }
};

Poller::Poller() : impl_(std::make_unique<Impl>()) {}
Poller::Poller(Poller&&) noexcept = default;
Poller& Poller::operator=(Poller&&) noexcept = default;
Poller::~Poller() = default;

size_t Poller::add(ServerChannel& channel) { return impl_->add({channel.poll_handle()}); }

size_t Poller::add(int fd) { return impl_->add_fd(fd); }

size_t Poller::add(ClientChannel& channel) {
  return impl_->add({channel.poll_handle(), channel.monitor_poll_handle()});
}

Result<std::vector<size_t>> Poller::wait(std::chrono::milliseconds timeout) {
  std::vector<size_t> ready;
  GONGSHU_TRY(int n, with_context(
                         detail::poll(impl_->items,
                                      timeout.count() < 0 ? std::chrono::milliseconds(0) : timeout),
                         "poller"));
  if (n == 0) return ready;
  for (size_t i = 0; i < impl_->items.size(); ++i) {
    if ((impl_->items[i].revents & ZMQ_POLLIN) &&
        (ready.empty() || ready.back() != impl_->owner[i])) {
      ready.push_back(impl_->owner[i]);
    }
  }
  return ready;
}

}  // namespace gongshu::wire
