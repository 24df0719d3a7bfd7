#include "bench/support/machine.h"

#include <fstream>

namespace gongshu::bench {

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  if (!(in >> a >> b >> c)) return "unknown";
  return a + " " + b + " " + c;
}

}  // namespace gongshu::bench
