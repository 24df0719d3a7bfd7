// Helpers shared by the subcommands: the --config option, loading the configuration and the
// spool, and reporting an error once, with the command's name.
#pragma once

#include "core/util/i18n.h"  // the subcommands' messages: tr(), trf()

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "agent/config.h"
#include "agent/spool.h"
#include "core/util/error.h"

namespace gongshu::agent {

inline constexpr const char* kDefaultConfig = "/etc/gongshu/agent.toml";

// Adds --config FILE (default /etc/gongshu/agent.toml) to cmd.
void add_config_option(CLI::App* cmd, std::string* path);

struct Loaded {
  AgentConfig config;
  std::unique_ptr<Spool> spool;
};
Result<Loaded> load_config_and_spool(const std::string& config_path);

// Prints "gongshu-agent COMMAND: message" to stderr and returns code.
int report(std::string_view command, const Error& e, int code = 2);

// "2024-05-01 08:30:00Z" for ms since the epoch (0: "never"): for --json.
std::string format_ms(int64_t ms);
// For people: local time with the zone named (core/util/local_time.h); 0: "never" translated.
std::string format_local_ms(int64_t ms);

}  // namespace gongshu::agent
