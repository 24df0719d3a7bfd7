// The agent's failpoints (core/util/failpoint.h): places where a test makes `gongshu-agent run`
// SIGKILL itself, to prove what a crash exactly there leaves (agent/forwarder.h, "Exactly once,
// with two threads and grouped commits"). Off unless GONGSHU_FAILPOINTS names them; for tests
// only (tests/agent/spool_test.cc, "through kills at each durable step").
//
//   agent.after_seal_commit  the sealer committed a round that sealed a batch; nothing of that
//                            batch has been sent (its buffer reaches the sending thread after).
//   agent.after_send         the daemon's first ack arrived: the batches it names were sent and
//                            stored by the daemon; the agent has done nothing with the ack yet.
//                            (A kill just after handing a batch to ZeroMQ leaves either this or,
//                            if the message never left, the state of agent.after_seal_commit.)
//   agent.ack_before_commit  the sealer applied acks in its transaction (receipts stored,
//                            entries deleted, batches maybe sealed), before the commit.
//
// The environment is read once, before main() (getenv would race with a thread's setenv).
#pragma once

#include <cstddef>
#include <string_view>

#include "core/util/failpoint.h"

namespace gongshu::agent {

enum class Failpoint : size_t { kAfterSealCommit, kAfterSend, kAckBeforeCommit };

namespace failpoint_detail {
inline constexpr std::string_view kNames[] = {"agent.after_seal_commit", "agent.after_send",
                                              "agent.ack_before_commit"};
inline const bool kOn[] = {failpoint_enabled(kNames[0]), failpoint_enabled(kNames[1]),
                           failpoint_enabled(kNames[2])};
}  // namespace failpoint_detail

// SIGKILLs the process here when GONGSHU_FAILPOINTS names `f`; otherwise one load and a branch.
inline void failpoint(Failpoint f) {
  const auto i = static_cast<size_t>(f);
  if (failpoint_detail::kOn[i]) failpoint_crash(failpoint_detail::kNames[i]);
}

}  // namespace gongshu::agent
