#include "core/cluster/mono_clock.h"

namespace gongshu::cluster {

const SteadyMonoClock& SteadyMonoClock::instance() {
  static const SteadyMonoClock clock;
  return clock;
}

}  // namespace gongshu::cluster
