#include "core/util/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>

namespace gongshu {

bool failpoint_enabled(std::string_view name) {
  const char* env = std::getenv("GONGSHU_FAILPOINTS");
  if (!env || name.empty()) return false;
  std::string_view list(env);
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (list.substr(0, comma) == name) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

void failpoint_crash(std::string_view name) {
  // One line on stderr says why the process died (async-signal-safe calls only).
  constexpr std::string_view kPrefix = "gongshu: failpoint ";
  (void)!::write(2, kPrefix.data(), kPrefix.size());
  (void)!::write(2, name.data(), name.size());
  (void)!::write(2, "\n", 1);
  ::kill(::getpid(), SIGKILL);
  ::_exit(137);
}

}  // namespace gongshu
