// DaemonClient: gongshuctl's connection to gongshud's api socket, authenticated with the
// caller's own key (CURVE). Where to connect and whom to trust come from --daemon-info (the
// daemon.info file gongshud writes) or --api and --daemon-key, and the caller's key from --key;
// each falls back to an environment variable (GONGSHU_DAEMON_INFO, GONGSHU_API,
// GONGSHU_DAEMON_KEY, GONGSHU_KEY). One request at a time; not thread-safe.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "core/crypto/key_file.h"
#include "core/wire/client_channel.h"
#include "core/wire/context.h"
#include "gongshu/v1/api.pb.h"

namespace gongshu::ctl {

struct ConnectOptions {
  std::string daemon_info;
  std::string api;
  std::string daemon_key;
  std::string key;
  int timeout_s = 30;
};

// Adds --daemon-info, --api, --daemon-key, --key and --timeout to a subcommand.
void add_connect_options(CLI::App* cmd, ConnectOptions* options);

class DaemonClient {
 public:
  static Result<std::unique_ptr<DaemonClient>> connect(const ConnectOptions& options);
  ~DaemonClient();
  // Sends one request and waits for its response. An ApiError in the response is returned as an
  // Error whose message is the daemon's.
  Result<v1::ApiResponse> call(v1::ApiRequest request);
  const std::string& key_id() const { return key_id_; }

 private:
  DaemonClient() = default;
  std::unique_ptr<crypto::KeyFile> key_;
  std::unique_ptr<wire::Context> context_;
  std::unique_ptr<wire::ClientChannel> channel_;
  std::string key_id_;
  uint64_t next_id_ = 1;
  std::chrono::milliseconds timeout_{30000};
};

// Prints "gongshuctl: <message>" and returns the exit code for a failed command (1 when the
// daemon refused or found a problem, 2 when the command could not run).
int report_error(const Error& e);

}  // namespace gongshu::ctl
