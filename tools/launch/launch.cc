#include "tools/launch/launch.h"

// Languages: these errors end up in the drill's signed report and the benches' output, which
// carry their own Chinese beside English; written the same in every language (i18n-exempt).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

extern char** environ;

namespace gongshu::launch {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<char*> pointers(std::vector<std::string>& v) {
  std::vector<char*> p;
  for (auto& s : v) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

}  // namespace

Result<std::vector<int>> free_ports(int n) {
  std::vector<int> fds, ports;
  Status failed;
  while (int(ports.size()) < n) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      failed = fail_errno("cannot bind a free port on 127.0.0.1", errno);  // i18n-exempt
      if (fd >= 0) ::close(fd);
      break;
    }
    fds.push_back(fd);
    int port = ntohs(addr.sin_port);
    if (port != 2379 && port != 2380) ports.push_back(port);
  }
  for (int fd : fds) ::close(fd);
  if (!failed) return tl::unexpected(failed.error());
  return ports;
}

std::string etcd_binary() {
  if (const char* env = std::getenv("GONGSHU_ETCD"); env && *env) return env;
  for (const char* p : {"/usr/bin/etcd", "/usr/local/bin/etcd"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

std::vector<EtcdMember> etcd_members(const std::string& etcd, const std::vector<int>& ports,
                                     const std::function<std::string(int)>& data_dir,
                                     const std::string& token) {
  const int n = int(ports.size() / 2);
  std::vector<EtcdMember> members(static_cast<size_t>(n));
  std::string initial;
  for (int i = 0; i < n; ++i) {
    EtcdMember& m = members[size_t(i)];
    m.name = "m" + std::to_string(i);
    m.client_url = "http://127.0.0.1:" + std::to_string(ports[size_t(2 * i)]);
    m.peer_url = "http://127.0.0.1:" + std::to_string(ports[size_t(2 * i + 1)]);
    initial += (i ? "," : "") + m.name + "=" + m.peer_url;
  }
  for (int i = 0; i < n; ++i) {
    EtcdMember& m = members[size_t(i)];
    m.argv = {etcd,
              "--name=" + m.name,
              "--data-dir=" + data_dir(i),
              "--listen-client-urls=" + m.client_url,
              "--advertise-client-urls=" + m.client_url,
              "--listen-peer-urls=" + m.peer_url,
              "--initial-advertise-peer-urls=" + m.peer_url,
              "--initial-cluster=" + initial,
              "--initial-cluster-state=new",
              "--initial-cluster-token=" + token,
              "--logger=zap",
              "--log-outputs=stderr"};
  }
  return members;
}

Result<pid_t> spawn(const std::vector<std::string>& argv, const std::string& out_path,
                    const std::string& err_path, bool append,
                    const std::map<std::string, std::string>& env) {
  if (argv.empty()) return fail(ErrorCode::kInvalidArgument, "spawn: no command");  // i18n-exempt
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    if (!env.count(kv.substr(0, kv.find('=')))) envs.push_back(std::move(kv));
  }
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<std::string> args = argv;
  auto argp = pointers(args);
  auto envp = pointers(envs);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  // No O_CLOEXEC: these become the child's standard descriptors.
  const int flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), flags, 0600);
  if (err_path == out_path) {
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  } else {
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), flags, 0600);
  }
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, argp.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    return fail(ErrorCode::kIo, "start " + argv[0] + ": " + std::strerror(rc));  // i18n-exempt
  return pid;
}

std::string toml_string(const std::string& text, const std::string& key) {
  std::smatch m;
  if (std::regex_search(text, m, std::regex(key + " = \"([^\"]*)\""))) return m[1];
  return "";
}

Result<DaemonInfo> wait_daemon_ready(const std::string& daemon_info,
                                     const std::function<bool()>& gone,
                                     std::chrono::milliseconds timeout, const std::string& log,
                                     std::chrono::milliseconds every) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto tail = [&] {
    if (log.empty()) return std::string();
    std::string t = slurp(log);
    return ": " + t.substr(t.size() > 1500 ? t.size() - 1500 : 0);
  };
  for (;;) {
    std::string info = slurp(daemon_info);
    if (!toml_string(info, "ingest").empty()) {
      return DaemonInfo{toml_string(info, "api"), toml_string(info, "ingest"),
                        toml_string(info, "daemon_public_key")};
    }
    if (gone())
      return fail(ErrorCode::kUnavailable,
                  "gongshud exited while starting" + tail());  // i18n-exempt
    if (std::chrono::steady_clock::now() > deadline)
      return fail(ErrorCode::kUnavailable,
                  "gongshud not ready after " +
                      std::to_string(timeout.count() / 1000) +  // i18n-exempt
                      " s" + tail());
    std::this_thread::sleep_for(every);
  }
}

}  // namespace gongshu::launch
