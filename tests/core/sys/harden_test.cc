#include "core/sys/harden.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace gongshu::sys {
namespace {

TEST_CASE("harden_process makes the process non-dumpable with no core limit") {
  // In a child, so that the test runner itself stays debuggable.
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (!harden_process()) ::_exit(10);
    if (::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) ::_exit(11);
    rlimit rl{};
    if (::getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur != 0 || rl.rlim_max != 0) ::_exit(12);
    // The hard limit is 0 too: nothing in the process can raise it again.
    rlimit more{1 << 20, 1 << 20};
    if (::setrlimit(RLIMIT_CORE, &more) == 0 && ::geteuid() != 0) ::_exit(13);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace gongshu::sys
