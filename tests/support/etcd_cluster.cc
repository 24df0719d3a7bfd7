#include "tests/support/etcd_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>

namespace gongshu::testing {
namespace {

// n distinct ports the OS considers free now: each bound to port 0 and held until all are
// chosen, then released for etcd to bind (another process may take one meanwhile: the caller
// retries).
std::vector<int> free_ports(int n) {
  std::vector<int> fds, ports;
  while (static_cast<int>(ports.size()) < n) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(fd);
      throw std::runtime_error("cannot bind a free port on 127.0.0.1");
    }
    fds.push_back(fd);
    int port = ntohs(addr.sin_port);
    if (port != 2379 && port != 2380) ports.push_back(port);
  }
  for (int fd : fds) ::close(fd);
  return ports;
}

// A plain HTTP/1.0 request on 127.0.0.1:port with a one-second limit each way; the whole
// reply (headers and body), "" when it fails.
std::string http_request(int port, const std::string& method, const std::string& path,
                         const std::string& body = "") {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string request = method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n";
    if (method == "POST") {
      request +=
          "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\n";
    }
    request += "\r\n" + body;
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t r;
      while ((r = ::recv(fd, buf, sizeof buf, 0)) > 0 && reply.size() < 65536) {
        reply.append(buf, static_cast<size_t>(r));
      }
    }
  }
  ::close(fd);
  return reply;
}

// The decimal string value of "name":"..." in a JSON text; "" when absent.
std::string json_string_field(const std::string& text, const std::string& name) {
  std::string pattern = "\"" + name + "\":\"";
  size_t at = text.find(pattern);
  if (at == std::string::npos) return "";
  at += pattern.size();
  size_t end = text.find('"', at);
  return end == std::string::npos ? "" : text.substr(at, end - at);
}

bool executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

}  // namespace

std::string EtcdCluster::etcd_binary() {
  if (const char* env = std::getenv("GONGSHU_ETCD"); env != nullptr && *env != '\0') {
    if (executable(env)) return env;
    throw std::runtime_error(std::string("GONGSHU_ETCD=") + env + " is not an executable");
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::string p = path;
    size_t start = 0;
    while (start <= p.size()) {
      size_t end = p.find(':', start);
      if (end == std::string::npos) end = p.size();
      std::string candidate = p.substr(start, end - start) + "/etcd";
      if (end > start && executable(candidate)) return candidate;
      start = end + 1;
    }
  }
  if (executable("/usr/bin/etcd")) return "/usr/bin/etcd";
  throw std::runtime_error(
      "etcd is not installed: these tests run a real etcd cluster. Install Debian's etcd-server "
      "package (scripts/test installs every package of scripts/lib/common.sh), or point "
      "GONGSHU_ETCD at an etcd 3.4+ binary");
}

EtcdCluster::EtcdCluster(int members) : binary_(etcd_binary()) {
  if (members < 1) throw std::invalid_argument("EtcdCluster needs at least one member");
  std::random_device rd;
  token_ = "gongshu-test-" + std::to_string(rd()) + "-" + std::to_string(::getpid());
  members_.resize(static_cast<size_t>(members));
  std::string why;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (start_all(std::chrono::seconds(30), why)) return;
  }
  throw std::runtime_error("etcd cluster did not start: " + why);
}

EtcdCluster::~EtcdCluster() {
  for (auto& m : members_) m.process.reset();  // SIGKILL and reap
}

bool EtcdCluster::start_all(std::chrono::milliseconds timeout, std::string& why) {
  for (auto& m : members_) m.process.reset();
  std::vector<int> ports = free_ports(2 * size());
  initial_cluster_.clear();
  for (int i = 0; i < size(); ++i) {
    Member& m = members_[static_cast<size_t>(i)];
    m.name = "m" + std::to_string(i);
    m.client_port = ports[static_cast<size_t>(2 * i)];
    m.peer_port = ports[static_cast<size_t>(2 * i + 1)];
    m.client_url = "http://127.0.0.1:" + std::to_string(m.client_port);
    m.peer_url = "http://127.0.0.1:" + std::to_string(m.peer_port);
    // A fresh data directory per try: a half-started member's would name the old ports.
    m.data_dir = dir_.file(m.name + "-" + std::to_string(m.client_port));
    m.log_path = dir_.file(m.name + ".log");
    ::mkdir(m.data_dir.c_str(), 0700);
    if (!initial_cluster_.empty()) initial_cluster_ += ",";
    initial_cluster_ += m.name + "=" + m.peer_url;
  }
  for (int i = 0; i < size(); ++i) start(i);
  bool exited = false;
  bool up = wait_until(
      [&] {
        for (int i = 0; i < size(); ++i) {
          if (!running(i)) {
            exited = true;
            return true;
          }
        }
        return all_healthy();
      },
      timeout);
  if (up && !exited) return true;
  why = (exited ? "a member exited"
                : "not healthy within " + std::to_string(timeout.count()) + " ms") +
        std::string("\n") + all_log_tails();
  for (auto& m : members_) m.process.reset();
  return false;
}

void EtcdCluster::start(int i) {
  Member& m = members_.at(static_cast<size_t>(i));
  std::vector<std::string> argv = {
      binary_,
      "--name=" + m.name,
      "--data-dir=" + m.data_dir,
      "--listen-client-urls=" + m.client_url,
      "--advertise-client-urls=" + m.client_url,
      "--listen-peer-urls=" + m.peer_url,
      "--initial-advertise-peer-urls=" + m.peer_url,
      "--initial-cluster=" + initial_cluster_,
      "--initial-cluster-state=new",
      "--initial-cluster-token=" + token_,
      // etcd's defaults (100 ms heartbeat, 1 s election timeout): failover behaves as deployed.
      "--heartbeat-interval=100",
      "--election-timeout=1000",
      "--logger=zap",
      "--log-outputs=stderr",
  };
  m.process = std::make_unique<ChildProcess>(argv, m.log_path);
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> out;
  for (const auto& m : members_) out.push_back(m.client_url);
  return out;
}

int EtcdCluster::index_of(const std::string& endpoint) const {
  for (int i = 0; i < size(); ++i) {
    if (members_[static_cast<size_t>(i)].client_url == endpoint) return i;
  }
  return -1;
}

void EtcdCluster::kill(int i) {
  auto& p = members_.at(static_cast<size_t>(i)).process;
  if (!p) return;
  p->signal(SIGKILL);
  p->wait();
  p.reset();
}

void EtcdCluster::pause(int i) {
  auto& p = members_.at(static_cast<size_t>(i)).process;
  if (p) p->signal(SIGSTOP);
}

void EtcdCluster::resume(int i) {
  auto& p = members_.at(static_cast<size_t>(i)).process;
  if (p) p->signal(SIGCONT);
}

void EtcdCluster::restart(int i, std::chrono::milliseconds timeout) {
  kill(i);
  start(i);
  if (!wait_until([&] { return running(i) && healthy(i); }, timeout)) {
    throw std::runtime_error("etcd member " + std::to_string(i) + " not healthy after restart:\n" +
                             log_tail(i));
  }
}

bool EtcdCluster::running(int i) {
  auto& p = members_.at(static_cast<size_t>(i)).process;
  return p && p->running();
}

bool EtcdCluster::healthy(int i) const {
  std::string reply =
      http_request(members_.at(static_cast<size_t>(i)).client_port, "GET", "/health");
  return reply.find("\"health\":\"true\"") != std::string::npos;
}

int EtcdCluster::leader() const {
  // Each member's status names the raft leader's member id, and its own.
  std::vector<std::string> ids(members_.size());
  std::string leader_id;
  for (size_t i = 0; i < members_.size(); ++i) {
    std::string reply =
        http_request(members_[i].client_port, "POST", "/v3/maintenance/status", "{}");
    ids[i] = json_string_field(reply, "member_id");
    std::string l = json_string_field(reply, "leader");
    if (!l.empty() && l != "0") leader_id = l;
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!leader_id.empty() && ids[i] == leader_id) return static_cast<int>(i);
  }
  return -1;
}

bool EtcdCluster::all_healthy() const {
  for (int i = 0; i < size(); ++i) {
    if (!healthy(i)) return false;
  }
  return true;
}

std::string EtcdCluster::log_tail(int i, size_t bytes) const {
  std::string text = read_text(members_.at(static_cast<size_t>(i)).log_path);
  if (text.size() > bytes) text = "..." + text.substr(text.size() - bytes);
  return text;
}

std::string EtcdCluster::all_log_tails() const {
  std::string out;
  for (int i = 0; i < size(); ++i) {
    out += "--- " + members_[static_cast<size_t>(i)].name + " (" +
           members_[static_cast<size_t>(i)].log_path + ")\n" + log_tail(i, 1500) + "\n";
  }
  return out;
}

}  // namespace gongshu::testing
