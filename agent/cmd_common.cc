#include "agent/cmd_common.h"

#include <iostream>

#include "core/util/clock.h"
#include "core/util/local_time.h"
#include "core/util/printable.h"

namespace gongshu::agent {

void add_config_option(CLI::App* cmd, std::string* path) {
  *path = kDefaultConfig;
  cmd->add_option("--config,-c", *path, tr("The agent's configuration file (TOML)"))
      ->capture_default_str();
}

Result<Loaded> load_config_and_spool(const std::string& config_path) {
  Loaded l;
  GONGSHU_TRY(l.config, load_config(config_path));
  SpoolOptions so;
  so.max_bytes = l.config.limits.spool_max_bytes;
  so.segment_records = l.config.batch.max_records;  // whole segments fill a batch
  GONGSHU_TRY(l.spool, Spool::open(l.config.state_dir, so));
  return l;
}

int report(std::string_view command, const Error& e, int code) {
  std::cerr << "gongshu-agent " << command << ": "  // i18n-exempt: program and command names
            << printable(e.message()) << "\n";
  return code;
}

std::string format_ms(int64_t ms) {
  if (ms == 0) return "never";
  return format_utc(ms * 1'000'000);
}

std::string format_local_ms(int64_t ms) {
  if (ms == 0) return tr("never");
  return format_local_time(ms);
}

}  // namespace gongshu::agent
