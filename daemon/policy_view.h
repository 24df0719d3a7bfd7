// PolicyView: the access policy in force (core/policy, docs/policy.md), replaced whole when the
// policy directory is reloaded. A request takes one snapshot (a shared_ptr) and decides with it
// from start to end, so a reload never changes the policy under a running request, and the old
// Policy lives until the last request using it ends.
//
// There may be no policy: loading at start-up failed. Then every access decision is a denial
// (fail closed) until a reload succeeds; missing_reason() says why.
//
// Thread-safe: the api thread reads, the main thread (SIGHUP) replaces.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "core/policy/policy.h"

namespace gongshu::daemon {

class PolicyView {
 public:
  std::shared_ptr<const policy::Policy> current() const;
  void set(std::shared_ptr<const policy::Policy> policy);
  // Records why no policy is in force (only while none is).
  void set_missing(std::string reason);
  std::string missing_reason() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const policy::Policy> current_;
  std::string missing_;
};

}  // namespace gongshu::daemon
