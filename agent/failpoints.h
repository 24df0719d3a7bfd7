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
//   agent.rotate_after_accept    key rotation (agent/key_rotation.h): the daemon accepted K2,
//                                nothing of step 3 done (the spool still names K1).
//   agent.rotate_before_rename   key rotation: the spool names K2 and says "done", KEY_FILE is
//                                linked to its .old name, KEY_FILE.next not yet renamed over it.
//
// The environment is read once, before main() (getenv would race with a thread's setenv).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "core/util/failpoint.h"

namespace gongshu::agent {

enum class Failpoint : size_t {
  kAfterSealCommit,
  kAfterSend,
  kAckBeforeCommit,
  kRotateAfterAccept,
  kRotateBeforeRename,
  kCount,  // not a failpoint: how many there are
};

namespace failpoint_detail {
struct Named {
  Failpoint failpoint;
  std::string_view name;  // as GONGSHU_FAILPOINTS names it
};
// Each failpoint beside its name, in the enum's order: a row missing, added twice or out of order
// does not compile (below), so a name can never be looked up under another failpoint's index.
inline constexpr Named kTable[] = {
    {Failpoint::kAfterSealCommit, "agent.after_seal_commit"},
    {Failpoint::kAfterSend, "agent.after_send"},
    {Failpoint::kAckBeforeCommit, "agent.ack_before_commit"},
    {Failpoint::kRotateAfterAccept, "agent.rotate_after_accept"},
    {Failpoint::kRotateBeforeRename, "agent.rotate_before_rename"},
};
inline constexpr size_t kCount = static_cast<size_t>(Failpoint::kCount);
static_assert(std::size(kTable) == kCount, "every Failpoint has a row in kTable");
consteval bool in_enum_order() {
  for (size_t i = 0; i < kCount; ++i)
    if (static_cast<size_t>(kTable[i].failpoint) != i) return false;
  return true;
}
static_assert(in_enum_order(), "kTable's rows follow the enum's order");
// Read once, before main() (failpoint.h: getenv would race with a thread's setenv).
inline const std::array<bool, kCount> kOn = [] {
  std::array<bool, kCount> on{};
  for (size_t i = 0; i < kCount; ++i) on[i] = failpoint_enabled(kTable[i].name);
  return on;
}();
}  // namespace failpoint_detail

// SIGKILLs the process here when GONGSHU_FAILPOINTS names `f`; otherwise one load and a branch.
inline void failpoint(Failpoint f) {
  const auto i = static_cast<size_t>(f);
  if (failpoint_detail::kOn[i]) failpoint_crash(failpoint_detail::kTable[i].name);
}

}  // namespace gongshu::agent
