#include "core/sys/harden.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>

namespace gongshu::sys {

Status harden_process() {
  rlimit none{0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0) return fail_errno("setrlimit(RLIMIT_CORE, 0)", errno);
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return fail_errno("prctl(PR_SET_DUMPABLE, 0)", errno);
  }
  return {};
}

}  // namespace gongshu::sys
