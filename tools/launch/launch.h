// The platform's processes as the drill and the benches start them on one machine: free
// loopback ports, a background process with its output in a log file, the command lines of a
// loopback etcd cluster (Debian's etcd-server), and gongshud waited for until it is ready (its
// daemon.info names its endpoints). gongshu-drill (tools/drill), bench_e2e and
// bench_replication each used to carry their own copy of these.
//
// Nothing here knows a scenario or a figure; the callers keep their own process handles (the
// drill's Child, the benches' pids) and decide what a failure means. Plain functions, any thread;
// spawn() reads the process environment (environ) and must not race a setenv.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/util/error.h"

namespace gongshu::launch {

// n distinct TCP ports on 127.0.0.1 the OS considers free now (bound and released together),
// never 2379/2380: a system etcd started by the package may hold those. Another process may take
// one before the caller binds it; callers that cannot retry accept that small chance.
[[nodiscard]] Result<std::vector<int>> free_ports(int n);

// The etcd binary: $GONGSHU_ETCD, else /usr/bin/etcd or /usr/local/bin/etcd; empty when none.
std::string etcd_binary();

// One member of a loopback etcd cluster.
struct EtcdMember {
  std::string name;        // m0, m1, ...
  std::string client_url;  // http://127.0.0.1:PORT
  std::string peer_url;
  std::vector<std::string> argv;  // the whole command line, etcd first
};

// The members of a new etcd cluster of ports.size() / 2 members (ports[2i] the client port and
// ports[2i+1] the peer port of member i), data in data_dir(i), etcd's default timing, logs (zap)
// on stderr. token is the --initial-cluster-token.
std::vector<EtcdMember> etcd_members(const std::string& etcd, const std::vector<int>& ports,
                                     const std::function<std::string(int)>& data_dir,
                                     const std::string& token);

// Starts argv (argv[0] a path) in the background: stdin /dev/null, stdout to out_path and
// stderr to err_path (the same file when equal), appended or truncated, with the variables of
// env set or replaced in our environment. The caller reaps the pid.
[[nodiscard]] Result<pid_t> spawn(const std::vector<std::string>& argv, const std::string& out_path,
                                  const std::string& err_path, bool append,
                                  const std::map<std::string, std::string>& env = {});

// What gongshud's daemon.info says once it is ready.
struct DaemonInfo {
  std::string api;
  std::string ingest;
  std::string daemon_public_key;
};

// Waits until the daemon.info at path names an ingest endpoint (gongshud writes it when ready),
// polling every `every`; fails when gone() says the process has exited (with the tail of log,
// if given) or after timeout.
[[nodiscard]] Result<DaemonInfo> wait_daemon_ready(
    const std::string& daemon_info, const std::function<bool()>& gone,
    std::chrono::milliseconds timeout, const std::string& log = "",
    std::chrono::milliseconds every = std::chrono::milliseconds(20));

// The value of `key = "..."` in a TOML text gongshud writes (daemon.info), or empty.
std::string toml_string(const std::string& text, const std::string& key);

}  // namespace gongshu::launch
