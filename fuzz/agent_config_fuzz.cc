// The agent's configuration file (agent/config.h): TOML an operator writes. Parsed and checked;
// a configuration that loads has its limits within the documented ranges.
#include "agent/config.h"
#include "fuzz/fuzz_support.h"

using namespace gongshu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto config = agent::parse_config(fuzz::text(data, size), "/etc/gongshu/agent.toml");
  if (!config) return 0;
  GONGSHU_FUZZ_CHECK(!config->state_dir.empty(), "a configuration without a state directory");
  GONGSHU_FUZZ_CHECK(config->batch.max_records >= 1 && config->batch.max_records <= 10000,
                     "batch.max_records out of range");
  GONGSHU_FUZZ_CHECK(config->batch.window >= 1 && config->batch.window <= 64,
                     "batch.window out of range");
  return 0;
}
