// AgentConfig: the agent's TOML configuration file, parsed and checked in one go. Errors name
// the file, the line and the reason ("agent.toml:7: [batch] window: must be 1..64"); an unknown
// key is an error too, so a typo never silently falls back to a default.
//
//   [agent]
//   state_dir = "/var/lib/gongshu-agent"     # spool, spool key, agent key (required)
//   key_file = "/var/lib/gongshu-agent/agent.key"   # default: state_dir/agent.key
//   drop_dir = "/srv/gongshu/drop"           # optional: watched directory of files to spool
//   drop_encoding = "auto"                   # its files' encoding: auto | utf-8 | gb18030
//   ipc = "ipc:///run/gongshu-agent/agent.sock"     # optional: local socket for applications
//   hostname = "..."                         # optional: reported at enrollment
//
//   [daemon]                                 # optional overrides of what enrollment learned
//   api = "tcp://gongshu.example:7401"
//   ingest = "tcp://gongshu.example:7400"
//   public_key = "<64 hex>"
//   cluster_ingest = ["tcp://node-a:7400", "tcp://node-b:7400"]   # every node of a gongshud
//                                            # cluster (one shared daemon key): the agent follows
//                                            # the leader among them (agent/cluster_follow.h)
//
//   [batch]
//   max_records = 1000                       # records per batch (1..10000)
//   max_delay_ms = 100                       # longest a spooled record waits for a batch
//   window = 8                               # batches sent and not yet acknowledged (1..64)
//
//   [limits]
//   max_line_bytes = 1048576                 # one JSON line or CSV row
//   ack_timeout_ms = 30000                   # reconnect and resend when no ack comes
//   cluster_probe_ms = 1000                  # a cluster: no ack this long while batches wait, ask
//                                            # the other nodes who leads (0: off;
//                                            # agent/cluster_follow.h LeaderFinder)
//   shutdown_timeout_ms = 5000               # on SIGTERM, how long to wait for in-flight acks
//   catalog_refresh_s = 300                  # catalog refresh period while running
//   drop_rescan_ms = 5000                    # drop directory rescan period (besides inotify)
//   spool_max_bytes = 68719476736            # largest the spool may grow to
//
// Relative paths are taken relative to the directory of the configuration file. Values are
// plain data; AgentConfig is copyable and immutable once loaded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/charset.h"
#include "core/util/error.h"

namespace gongshu::agent {

struct BatchConfig {
  uint32_t max_records = 1000;
  uint32_t max_delay_ms = 100;
  uint32_t window = 8;
};

struct LimitsConfig {
  uint64_t max_line_bytes = 1 << 20;
  uint32_t ack_timeout_ms = 30'000;
  uint32_t cluster_probe_ms = 1'000;
  uint32_t shutdown_timeout_ms = 5'000;
  uint32_t catalog_refresh_s = 300;
  uint32_t drop_rescan_ms = 5'000;
  uint64_t spool_max_bytes = uint64_t{64} << 30;
};

struct AgentConfig {
  std::string path;  // the file it came from
  std::string state_dir;
  std::string key_file;
  std::string drop_dir;  // empty: no drop directory
  EncodingChoice drop_encoding = EncodingChoice::kAuto;
  std::string ipc_path;  // filesystem path of the socket; empty: no local socket
  std::string hostname;  // empty: gethostname()
  std::string daemon_api;
  std::string daemon_ingest;
  std::string daemon_public_key;
  std::vector<std::string> daemon_cluster_ingest;  // empty: one daemon
  BatchConfig batch;
  LimitsConfig limits;
};

Result<AgentConfig> parse_config(std::string_view text, const std::string& path);
Result<AgentConfig> load_config(const std::string& path);

}  // namespace gongshu::agent
