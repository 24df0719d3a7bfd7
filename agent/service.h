// Service: `gongshu-agent run` — the forwarder on the main thread, the drop directory and the
// local socket on their own threads, and a catalog refresher (at start, every
// [limits] catalog_refresh_s, on its own thread since a refresh may wait for the daemon).
//
// Shutdown (stop set, e.g. by SIGTERM): the inputs stop accepting and finish what they hold
// (every reply they give is for a durable record), the forwarder stops making and sending new
// batches and waits up to [limits] shutdown_timeout_ms for the acks of those in flight; all
// state is in LMDB, synced at each commit, so what is not acknowledged is sent again next time.
//
// ServiceObserver is the seam for systemd (Type=notify): ready() once the spool is open and the
// inputs listen, status() with a one-line summary when it changes, stopping() when the drain
// begins, and alive() from the main loop (a watchdog ping). The default does nothing.
#pragma once

#include <atomic>
#include <string>

#include "agent/config.h"
#include "core/util/clock.h"
#include "core/util/error.h"

namespace gongshu::agent {

class ServiceObserver {
 public:
  virtual ~ServiceObserver() = default;
  virtual void ready() {}
  virtual void status(const std::string& /*line*/) {}
  virtual void stopping() {}
  virtual void alive() {}
};

// Runs until stop is set; returns after the drain. Errors: the service could not start (not
// enrolled, spool or key unusable, socket path taken) or the spool failed while running.
Status run_service(const AgentConfig& config, const std::atomic<bool>& stop,
                   ServiceObserver& observer, const Clock& clock);

}  // namespace gongshu::agent
