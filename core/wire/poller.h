// Poller: waits on several channels at once with one timeout, so a loop can serve the daemon's
// ingest and api sockets (or an agent's client channel) and still tick a watchdog or check a
// stop flag between waits.
//
// The Poller holds non-owning references to the channels added to it; each must stay alive (it
// may be moved: the socket it refers to does not move) for as long as the Poller is waited on.
// Use the Poller on the thread that uses its channels. Movable.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "core/util/error.h"
#include "core/wire/client_channel.h"
#include "core/wire/server_channel.h"

namespace gongshu::wire {

class Poller {
 public:
  Poller();
  Poller(Poller&&) noexcept;
  Poller& operator=(Poller&&) noexcept;
  ~Poller();

  // Registers a channel and returns its index, the number wait() reports it by (0, 1, ...).
  size_t add(ServerChannel& channel);
  // A client channel is ready when a message or a handshake event is waiting: after a wait,
  // call its receive() with a zero timeout and/or handshake_state().
  size_t add(ClientChannel& channel);
  // A file descriptor (e.g. an eventfd another thread writes to wake this one) is ready when it
  // is readable. The caller owns it and reads it.
  size_t add(int fd);

  // Waits up to timeout until at least one channel is ready; returns the indices of the ready
  // channels, in increasing order. Empty: the timeout passed or a signal interrupted the wait.
  Result<std::vector<size_t>> wait(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gongshu::wire
