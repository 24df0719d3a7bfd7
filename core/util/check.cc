#include "core/util/check.h"

#include <cstdio>
#include <cstdlib>

namespace gongshu::detail {

void check_failed(const char* file, int line, const char* cond, const char* msg) {
  std::fprintf(stderr, "gongshu: check failed at %s:%d: %s%s%s\n", file, line, cond,
               msg ? ": " : "", msg ? msg : "");
  std::fflush(stderr);
  std::abort();
}

}  // namespace gongshu::detail
