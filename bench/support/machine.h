// What the benches print about the machine they ran on.
#pragma once

#include <string>

namespace gongshu::bench {

// The 1, 5 and 15 minute load averages ("2.05 1.92 1.72"): every bench shares two cores with
// whatever else runs, so its figures are printed beside this.
std::string load_average();

}  // namespace gongshu::bench
