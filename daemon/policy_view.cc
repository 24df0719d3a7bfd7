#include "daemon/policy_view.h"

namespace gongshu::daemon {

std::shared_ptr<const policy::Policy> PolicyView::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

void PolicyView::set(std::shared_ptr<const policy::Policy> policy) {
  std::lock_guard lock(mu_);
  current_ = std::move(policy);
  missing_.clear();
}

void PolicyView::set_missing(std::string reason) {
  std::lock_guard lock(mu_);
  if (!current_) missing_ = std::move(reason);
}

std::string PolicyView::missing_reason() const {
  std::lock_guard lock(mu_);
  return missing_;
}

}  // namespace gongshu::daemon
