// EtcdCluster: a real etcd cluster for tests — N members (3 by default) of Debian's etcd
// (etcd-server) on 127.0.0.1, with client and peer ports the OS chose free (never 2379/2380,
// so a system etcd started by the package does not matter), data directories in a TempDir.
//
// The constructor returns once every member says it is healthy (GET /health: it has a leader
// and can serve a read); it throws std::runtime_error, with the members' log tails, when etcd
// is not installed (the message says which package provides it) or the cluster does not become
// healthy in time. A port taken between choosing and binding makes a member exit: the cluster
// is then started again on new ports (three tries). The destructor kills every member.
//
// kill(i) SIGKILLs member i (its data stays); restart(i) starts it again on the same data
// directory and ports and waits until it is healthy again; pause(i)/resume(i) freeze and thaw
// it. One thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace gongshu::testing {

class EtcdCluster {
 public:
  explicit EtcdCluster(int members = 3);
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int size() const { return static_cast<int>(members_.size()); }
  // Client URLs, "http://127.0.0.1:PORT", in member order.
  std::vector<std::string> endpoints() const;
  const std::string& endpoint(int i) const { return members_.at(i).client_url; }
  // The member whose client URL this is; -1 when none.
  int index_of(const std::string& endpoint) const;

  void kill(int i);
  // SIGSTOP / SIGCONT member i: a member that accepts connections (the kernel does) but never
  // answers, as one cut off or hung looks to a client; its peers elect without it.
  void pause(int i);
  void resume(int i);
  void restart(int i, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool running(int i);
  // GET /health on member i says {"health":"true"} (a leader, a read served).
  bool healthy(int i) const;
  bool all_healthy() const;
  // The member that is etcd's raft leader now, as the running members report it; -1 if none.
  int leader() const;
  std::string log_tail(int i, size_t bytes = 4000) const;

  // The etcd binary: $GONGSHU_ETCD, else etcd on PATH or in /usr/bin; throws when absent.
  static std::string etcd_binary();

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::string client_url;
    std::string peer_url;
    std::string data_dir;
    std::string log_path;
    std::unique_ptr<ChildProcess> process;
  };
  bool start_all(std::chrono::milliseconds timeout, std::string& why);
  void start(int i);
  std::string all_log_tails() const;

  TempDir dir_;
  std::string binary_;
  std::string token_;
  std::string initial_cluster_;
  std::vector<Member> members_;
};

}  // namespace gongshu::testing
