// bench_replication, daemon level (docs/replication.md §8): the replicated mode through the
// shipped binaries. A real three-member etcd cluster (Debian's etcd) and three real gongshud in
// [cluster] mode (sync_count 1, the default lease), on 127.0.0.1 with OS-chosen ports, beside one
// plain gongshud on a copy of the same state, in the same run:
//
//   rate      in-process agents (bench_ingest's: batches of 1,000 512-byte records sealed before
//             the clock starts, a window of 8, real CURVE to the real daemon's ingest socket)
//             at full speed to the single node, then to the cluster's leader (acks held until one
//             replica fsynced); ratio replicated / single (target >= 60%)
//   latency   the same agents paced at half the single node's rate: send -> ack p50/p99 on both
//             (target replicated p99 <= 100 ms)
//   lag       during the half-rate run, every 250 ms: each replica's records against the leader's
//             history of its own count (lag in ms: how long ago the leader had what the replica
//             has now) and the lag_seq the leader's `cluster status` shows (members publish their
//             applied seq every second)
//   failover  a real `gongshu-agent run` listing every node delivers a steady load; the leader is
//             SIGKILLed; the figures are kill -> new leader elected (its leader_since) and kill ->
//             first ack by the new leader (its last_ack instant at the first poll that shows
//             one after the kill; CLOCK_MONOTONIC is one clock for every process of the machine);
//             then every record the agent had acknowledged is on the new leader exactly once
//             (target <= 10 s; three runs, each on a fresh cluster from the same state)
//   reads     a fresh cluster with the shipped policy (its `agency` rate class raised so the
//             limits do not decide the figure): lookups/s of an agency's key (6 connections, 4
//             lookups in flight each) against the leader alone, then spread over the leader and
//             both replicas; a replica's lookups are audited on the leader (docs/replication.md
//             §6 "Reads on replicas"), so the leader still writes every read's entry
//
// The machine's load average is printed before and after: everything (etcd, three daemons, the
// agents, this process) shares it.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/replication/cluster_bench.h"
#include "bench/support/household.h"
#include "bench/support/machine.h"
#include "core/batch/batch.h"
#include "core/crypto/key_file.h"
#include "core/ids/citizen_id.h"
#include "core/wire/client_channel.h"
#include "core/wire/codec.h"
#include "gongshu/v1/api.pb.h"
#include "gongshu/v1/batch.pb.h"
#include "tools/launch/launch.h"

namespace gongshu::bench {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

const std::string kBin = GONGSHU_BINARY_DIR "/bin/";
const std::string kSource = GONGSHU_SOURCE_DIR;

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_replication: %s\n", what.c_str());
  std::exit(1);
}

int64_t mono_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) die("cannot write " + path);
}

// In the background, output appended to log (tools/launch, as the drill starts its processes).
pid_t spawn(const std::vector<std::string>& argv, const std::string& log,
            const std::map<std::string, std::string>& env = {}) {
  auto pid = launch::spawn(argv, log, log, true, env);
  if (!pid) die(pid.error().message());
  return *pid;
}

struct Ran {
  int code = -1;
  std::string out;
};

// Runs argv to completion, stdout captured, stderr to `err_log`.
Ran run(const std::vector<std::string>& argv, const std::string& err_log = "/dev/null",
        const std::map<std::string, std::string>& env = {}) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) die("pipe failed");
  pid_t pid = ::fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    ::dup2(p[1], 1);
    int err = ::open(err_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (err >= 0) ::dup2(err, 2);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    ::_exit(127);
  }
  ::close(p[1]);
  Ran r;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) r.out.append(buf, size_t(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds timeout,
              std::chrono::milliseconds every = std::chrono::milliseconds(50)) {
  auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(every);
  }
  return cond();
}

std::vector<int> free_ports(int n) {
  auto ports = launch::free_ports(n);
  if (!ports) die(ports.error().message());
  return *ports;
}

int64_t json_int(const std::string& text, const std::string& key, int64_t otherwise = -1) {
  std::smatch m;
  if (std::regex_search(text, m, std::regex("\"" + key + "\":(-?\\d+)"))) return std::stoll(m[1]);
  return otherwise;
}

// CPU seconds a process has used (utime + stime of /proc/<pid>/stat), 0 when it is gone.
double cpu_s(pid_t pid) {
  std::string s = read_text("/proc/" + std::to_string(pid) + "/stat");
  size_t close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(s.substr(close + 2));
  std::string tok;
  double t = 0;
  for (int f = 3; f <= 15 && rest >> tok; ++f)
    if (f == 14 || f == 15) t += std::atof(tok.c_str());
  return t / double(::sysconf(_SC_CLK_TCK));
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

// Three etcd members on loopback (etcd's default timing), data in dir.
struct Etcd {
  explicit Etcd(const std::string& dir) {
    const std::string etcd = launch::etcd_binary();
    if (etcd.empty()) die("no etcd: install Debian's etcd-server (or set GONGSHU_ETCD)");
    auto members = launch::etcd_members(
        etcd, free_ports(6), [&](int i) { return dir + "/etcd-" + std::to_string(i); }, "bench");
    for (size_t i = 0; i < members.size(); ++i) {
      endpoints.push_back(members[i].client_url);
      pids.push_back(spawn(members[i].argv, dir + "/etcd-" + std::to_string(i) + ".log"));
    }
    std::string list;
    for (auto& e : endpoints) list += (list.empty() ? "" : ",") + e;
    if (!wait_for(
            [&] {
              return run({"/usr/bin/etcdctl", "--endpoints=" + list, "endpoint", "health"}).code ==
                     0;
            },
            std::chrono::seconds(30), std::chrono::milliseconds(200)))
      die("etcd did not become healthy: " + read_text(dir + "/etcd-0.log").substr(0, 2000));
  }
  ~Etcd() {
    for (pid_t p : pids) {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
  }
  std::vector<std::string> endpoints;
  std::vector<pid_t> pids;
};

struct Node {
  std::string id, state, config, api, ingest;
  pid_t pid = -1;
};

// The platform's template: one state directory with the agencies, the household dataset and
// the enrolled agents; every measured daemon starts from a copy of it.
struct Bench {
  std::string dir;
  std::string daemon_key;  // hex
  std::map<std::string, std::string> env;
  std::vector<std::string> agent_dirs;  // in-process agents' enrolled states
  std::string real_agent;               // the gongshu-agent's enrolled state (template)
  std::string node_keys[3], node_pubs[3];
  std::string reader_key;  // an agency principal of sjz-gongan (the read figure)
  CommonOptions options;

  Ran ctl(const std::string& api, std::vector<std::string> args) {
    args.insert(args.begin(), kBin + "gongshuctl");
    args.insert(args.end(), {"--api", api, "--daemon-key", daemon_key});
    return run(args, dir + "/ctl.err", env);
  }
  Ran must_ctl(const std::string& api, std::vector<std::string> args) {
    Ran r = ctl(api, args);
    if (r.code != 0)
      die("gongshuctl " + args[0] + " failed: " + r.out + read_text(dir + "/ctl.err"));
    return r;
  }

  // Starts gongshud on config; returns once its daemon.info names both endpoints.
  void start(Node& n) {
    ::unlink((n.state + "/daemon.info").c_str());
    n.pid = spawn({kBin + "gongshud", "run", "--config", n.config}, n.config + ".log");
    bool exited = false;
    auto info = launch::wait_daemon_ready(
        n.state + "/daemon.info",
        [&] { return exited = ::waitpid(n.pid, nullptr, WNOHANG) == n.pid; },
        std::chrono::seconds(60), "", std::chrono::milliseconds(50));
    if (!info)
      die((exited ? "gongshud exited: " : "gongshud did not start: ") +
          read_text(n.config + ".log"));
    n.api = info->api;
    n.ingest = info->ingest;
  }
  void stop(Node& n) {
    if (n.pid <= 0) return;
    ::kill(n.pid, SIGTERM);
    ::waitpid(n.pid, nullptr, 0);
    n.pid = -1;
  }

  void build_template() {
    fs::create_directories(dir);
    Ran r = run({kBin + "gongshud", "init", "--state", dir + "/state0", "--operator-key-out",
                 dir + "/operator.key", "--audit-origin", "replication.bench/audit"},
                dir + "/init.err");
    if (r.code != 0) die("gongshud init failed: " + read_text(dir + "/init.err"));
    env = {{"GONGSHU_KEY", dir + "/operator.key"}};
    Node n;
    n.state = dir + "/state0";
    n.config = dir + "/template.toml";
    write_text(n.config, "[daemon]\nstate_dir = \"" + n.state +
                             "\"\n[ingest]\nendpoint = \"tcp://127.0.0.1:*\"\n[api]\nendpoint = "
                             "\"tcp://127.0.0.1:*\"\n");
    start(n);
    daemon_key = launch::toml_string(read_text(n.state + "/daemon.info"), "daemon_public_key");
    must_ctl(n.api, {"agency", "add", "--from", kSource + "/policies/agencies.toml"});
    must_ctl(n.api, {"catalog", "add", kSource + "/policies/catalog/population_household.toml"});
    auto enroll = [&](const std::string& state) {
      std::string token =
          must_ctl(n.api, {"enroll-token", "create", "--agency", "sjz-gongan", "--ttl", "1h"}).out;
      while (!token.empty() && token.back() == '\n') token.pop_back();
      write_text(state + ".toml", "[agent]\nstate_dir = \"" + state + "\"\n[daemon]\napi = \"" +
                                      n.api + "\"\ningest = \"" + n.ingest + "\"\n");
      Ran e = run({kBin + "gongshu-agent", "enroll", token, "--config", state + ".toml"},
                  dir + "/enroll.err");
      if (e.code != 0) die("gongshu-agent enroll failed: " + read_text(dir + "/enroll.err"));
    };
    for (int i = 0; i < options.agents; ++i) {
      agent_dirs.push_back(dir + "/inproc-" + std::to_string(i));
      enroll(agent_dirs.back());
    }
    real_agent = dir + "/agent0";
    enroll(real_agent);
    reader_key = dir + "/reader.key";
    Ran rk =
        run({kBin + "gongshuctl", "keygen", "--kind", "agency", "--out", reader_key, "--json"});
    std::smatch rm;
    if (rk.code != 0 ||
        !std::regex_search(rk.out, rm, std::regex("\"public_key\":\"([0-9a-f]+)\"")))
      die("gongshuctl keygen failed: " + rk.out);
    must_ctl(n.api, {"principal", "add", "--role", "agency", "--agency", "sjz-gongan",
                     "--public-key", rm[1]});
    stop(n);
    ::unlink((n.state + "/daemon.info").c_str());
    for (int i = 0; i < 3; ++i) {
      node_keys[i] = dir + "/node-" + std::to_string(i) + ".key";
      Ran k =
          run({kBin + "gongshuctl", "keygen", "--kind", "daemon", "--out", node_keys[i], "--json"});
      std::smatch m;
      if (k.code != 0 || !std::regex_search(k.out, m, std::regex("\"public_key\":\"([0-9a-f]+)\"")))
        die("gongshuctl keygen failed: " + k.out);
      node_pubs[i] = m[1];
    }
  }

  // A copy of the template state as dir/<name>.
  std::string copy_state(const std::string& name) {
    const std::string to = dir + "/" + name;
    fs::remove_all(to);
    if (run({"/bin/cp", "-a", dir + "/state0", to}).code != 0) die("cp failed");
    return to;
  }

  Node single_node() {
    Node n;
    n.id = "single";
    n.state = copy_state("state-single");
    n.config = dir + "/single.toml";
    write_text(n.config, "[daemon]\nstate_dir = \"" + n.state +
                             "\"\n[ingest]\nendpoint = \"tcp://127.0.0.1:*\"\n[api]\nendpoint = "
                             "\"tcp://127.0.0.1:*\"\n");
    start(n);
    return n;
  }

  // Three nodes of cluster `name` on etcd, each from a fresh copy of the template.
  // policy_dir: [policy] dir of every node (empty: none).
  std::vector<Node> cluster(const Etcd& etcd, const std::string& name,
                            const std::string& policy_dir = "") {
    std::string etcd_list, members;
    for (const auto& e : etcd.endpoints)
      etcd_list += (etcd_list.empty() ? "\"" : ", \"") + e + "\"";
    std::vector<int> ports = free_ports(3);
    for (int i = 0; i < 3; ++i)
      members += (members.empty() ? "" : ", ") + std::string("node-") + char('a' + i) + " = \"" +
                 node_pubs[i] + "\"";
    std::vector<Node> nodes(3);
    for (int i = 0; i < 3; ++i) {
      Node& n = nodes[i];
      n.id = std::string("node-") + char('a' + i);
      n.state = copy_state(name + "-" + n.id);
      n.config = dir + "/" + name + "-" + n.id + ".toml";
      std::string c = "[daemon]\nstate_dir = \"" + n.state +
                      "\"\n[ingest]\nendpoint = \"tcp://127.0.0.1:*\"\n[api]\nendpoint = "
                      "\"tcp://127.0.0.1:*\"\n[cluster]\nname = \"" +
                      name + "\"\nnode = \"" + n.id + "\"\netcd = [" + etcd_list +
                      "]\nnode_key = \"" + node_keys[i] +
                      "\"\nreplication_endpoint = \"tcp://127.0.0.1:" + std::to_string(ports[i]) +
                      "\"\nmembers = { " + members + " }\nsync_count = 1\n";
      if (options.lease_ttl_s > 0)
        c += "lease_ttl_s = " + std::to_string(options.lease_ttl_s) + "\n";
      if (!policy_dir.empty()) c += "[policy]\ndir = \"" + policy_dir + "\"\n";
      write_text(n.config, c);
    }
    for (auto& n : nodes) start(n);
    return nodes;
  }

  std::string status(const Node& n) {
    Ran r = ctl(n.api, {"cluster", "status", "--json"});
    return r.code == 0 ? r.out : "";
  }
  bool leads(const Node& n) {
    return status(n).find("\"this_node_leads\":true") != std::string::npos;
  }
  // The live node that leads; waits up to timeout.
  Node* leader(std::vector<Node>& nodes, std::chrono::milliseconds timeout) {
    Node* found = nullptr;
    wait_for(
        [&] {
          for (auto& n : nodes)
            if (n.pid > 0 && leads(n)) return (found = &n) != nullptr;
          return false;
        },
        timeout, std::chrono::milliseconds(100));
    return found;
  }
  int64_t records(const Node& n) {
    Ran r = ctl(n.api, {"catalog", "show", "population.household", "--json"});
    return json_int(r.out, "records");
  }
};

// The in-process agents (bench_ingest's), each with an enrolled key.
struct Agents {
  struct One {
    crypto::IdentityKey key;
    uint64_t next_seq = 1;
  };
  std::vector<One> agents;
  crypto::PublicKey daemon;
  uint64_t next_record = 0;
};

struct Rate {
  double records_per_s = 0, p50_ms = 0, p99_ms = 0;
  uint64_t records = 0;
};

std::string citizen(uint64_t n) {
  char body[24];
  std::snprintf(body, sizeof body, "13010219850612%03d", int(n % 1000));
  return std::string(body) + *ids::citizen_id_check_char(body);
}

Rate run_agents(wire::Context& ctx, Agents& set, const std::string& endpoint,
                uint64_t records_per_agent, size_t batch, size_t window, double target_rate) {
  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<uint64_t> stored{0};
  std::condition_variable ready_cv;
  size_t ready = 0;
  Clock::time_point t0;
  const uint64_t base = set.next_record;
  set.next_record += set.agents.size() * records_per_agent;
  std::vector<std::thread> threads;
  for (size_t a = 0; a < set.agents.size(); ++a) {
    threads.emplace_back([&, a] {
      auto& agent = set.agents[a];
      auto ch = std::move(*wire::ClientChannel::create(ctx, agent.key, set.daemon));
      if (!ch.connect(endpoint)) die("ingest connect failed");
      const uint64_t batches = (records_per_agent + batch - 1) / batch;
      std::vector<Bytes> prepared;
      for (uint64_t b = 0; b < batches; ++b) {
        std::vector<std::string> recs;
        for (size_t i = 0; i < batch; ++i) {
          uint64_t k = base + a * records_per_agent + b * batch + i;
          recs.push_back(household_record_512("hh-" + std::to_string(k), citizen(k)));
        }
        v1::BatchHeader h;
        h.set_agency("sjz-gongan");
        h.set_batch_seq(agent.next_seq + b);
        prepared.push_back(*wire::encode(*batch::seal_batch(agent.key, set.daemon, h, recs)));
      }
      {
        std::unique_lock lock(mu);
        ready++;
        ready_cv.notify_all();
        ready_cv.wait(lock, [&] { return ready == set.agents.size(); });
        if (t0 == Clock::time_point()) t0 = Clock::now();
      }
      const double per_batch_s =
          target_rate > 0 ? double(batch) * double(set.agents.size()) / target_rate : 0;
      std::map<uint64_t, Clock::time_point> in_flight;
      std::vector<double> lat;
      uint64_t sent = 0, acked = 0;
      const auto start = Clock::now();
      auto last_progress = Clock::now();
      while (acked < batches) {
        while (sent < batches && in_flight.size() < window &&
               (per_batch_s == 0 || secs(Clock::now() - start) >= double(sent) * per_batch_s)) {
          in_flight[agent.next_seq] = Clock::now();
          if (!ch.send(prepared[sent])) die("ingest send failed");
          ++agent.next_seq;
          ++sent;
        }
        auto got = ch.receive(std::chrono::milliseconds(1));
        if (!got || !*got) {
          if (Clock::now() - last_progress > std::chrono::seconds(60))
            die("no ack for 60 s from " + endpoint);
          continue;
        }
        last_progress = Clock::now();
        auto ack = wire::decode_as<v1::BatchAck>(**got, 64 << 20);
        if (!ack || ack->error() != v1::BATCH_OK)
          die("batch refused: " + (ack ? ack->error_message() : std::string("?")));
        lat.push_back(secs(Clock::now() - in_flight[ack->batch_seq()]) * 1000);
        in_flight.erase(ack->batch_seq());
        stored += ack->accepted();
        ++acked;
      }
      std::lock_guard lock(mu);
      latencies.insert(latencies.end(), lat.begin(), lat.end());
    });
  }
  for (auto& t : threads) t.join();
  Rate r;
  r.records = stored.load();
  r.records_per_s = double(r.records) / secs(Clock::now() - t0);
  r.p50_ms = pct(latencies, 0.50);
  r.p99_ms = pct(latencies, 0.99);
  return r;
}

// Lookups/s of `key` over `apis` for `duration`: `conns` connections (connection i to
// apis[i % size]), each keeping `window` lookups in flight; refused ones counted apart.
struct Reads {
  double per_s = 0;
  uint64_t ok = 0, refused = 0;
  std::string first_refusal;
};

Reads run_lookups(wire::Context& ctx, const crypto::IdentityKey& key,
                  const crypto::PublicKey& daemon, const std::vector<std::string>& apis, int conns,
                  size_t window, std::chrono::milliseconds duration) {
  std::atomic<uint64_t> ok{0}, refused{0};
  std::mutex mu;
  std::string first_refusal;
  const auto t0 = Clock::now();
  const auto until = t0 + duration;
  std::vector<std::thread> threads;
  for (int c = 0; c < conns; ++c) {
    threads.emplace_back([&, c] {
      auto ch = std::move(*wire::ClientChannel::create(ctx, key, daemon));
      if (!ch.connect(apis[size_t(c) % apis.size()])) die("api connect failed");
      uint64_t next = 1;
      size_t in_flight = 0;
      while (true) {
        const bool sending = Clock::now() < until;
        while (sending && in_flight < window) {
          v1::ApiRequest req;
          req.set_request_id(next);
          req.mutable_lookup()->set_subject_id(citizen(uint64_t(c) * 131 + next));
          req.mutable_lookup()->set_purpose("户籍核验");
          if (!ch.send(*wire::encode(req))) die("api send failed");
          ++next;
          ++in_flight;
        }
        if (in_flight == 0) break;
        auto got = ch.receive(std::chrono::milliseconds(10'000));
        if (!got || !*got) die("no lookup answer within 10 s");
        auto resp = wire::decode_as<v1::ApiResponse>(**got, 64 << 20);
        --in_flight;
        if (resp && !resp->has_error() && resp->has_lookup()) {
          ++ok;
        } else {
          ++refused;
          std::lock_guard lock(mu);
          if (first_refusal.empty() && resp) first_refusal = resp->error().message();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  Reads r;
  r.ok = ok.load();
  r.refused = refused.load();
  r.per_s = double(r.ok) / secs(Clock::now() - t0);
  r.first_refusal = first_refusal;
  return r;
}

// Replica lag while `running`: every 250 ms each replica's record count against the leader's
// history of its own.
struct LagSampler {
  struct Sample {
    double t;  // seconds since start
    int64_t records;
  };
  Bench& b;
  std::vector<Node*> nodes;  // [0] the leader
  std::atomic<bool> stop{false};
  std::vector<Sample> leader;
  std::vector<double> lag_ms;  // every replica sample
  int64_t max_lag_seq = 0;     // from the leader's cluster status
  std::thread thread;
  LagSampler(Bench& bench, std::vector<Node*> n) : b(bench), nodes(std::move(n)) {
    thread = std::thread([this] { loop(); });
  }
  void finish() {
    stop = true;
    thread.join();
  }
  // When the leader first had `records` (interpolated between its samples); -1 if not yet seen.
  double leader_had(int64_t records) const {
    for (size_t i = 0; i < leader.size(); ++i) {
      if (leader[i].records >= records) {
        if (i == 0 || leader[i].records == leader[i - 1].records) return leader[i].t;
        const auto& p = leader[i - 1];
        const auto& q = leader[i];
        return p.t + (q.t - p.t) * double(records - p.records) / double(q.records - p.records);
      }
    }
    return -1;
  }
  void loop() {
    const auto t0 = Clock::now();
    while (!stop) {
      leader.push_back({secs(Clock::now() - t0), b.records(*nodes[0])});
      for (size_t i = 1; i < nodes.size(); ++i) {
        int64_t r = b.records(*nodes[i]);
        double now = secs(Clock::now() - t0);
        if (r < 0) continue;
        // A replica at the leader's latest count: lag below what sampling can see.
        double had = r >= leader.back().records ? now : leader_had(r);
        if (had >= 0) lag_ms.push_back(std::max(0.0, now - had) * 1000);
      }
      std::string s = b.status(*nodes[0]);
      std::smatch m;
      auto it = s.cbegin();
      while (std::regex_search(it, s.cend(), m, std::regex("\"lag_seq\":(\\d+)"))) {
        max_lag_seq = std::max<int64_t>(max_lag_seq, std::stoll(m[1]));
        it = m.suffix().first;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
};

struct Failover {
  double elected_ms = -1, first_ack_ms = -1;
  int64_t acknowledged = 0, on_new_leader = 0;
  bool exactly_once = false;
};

// One failover run on a fresh cluster: a real gongshu-agent delivering a steady load, the
// leader SIGKILLed, the new leader's first ack.
Failover failover_run(Bench& b, const Etcd& etcd, int run_no) {
  const std::string name = "bench-f" + std::to_string(run_no);
  std::vector<Node> nodes = b.cluster(etcd, name);
  Node* leader = b.leader(nodes, std::chrono::seconds(30));
  if (!leader) die("no leader in " + name);
  // The agent: a copy of the enrolled template, listing every node, the leader first.
  const std::string agent_state = b.dir + "/" + name + "-agent";
  fs::remove_all(agent_state);
  if (run({"/bin/cp", "-a", b.real_agent, agent_state}).code != 0) die("cp failed");
  std::string list = "\"" + leader->ingest + "\"";
  for (auto& n : nodes)
    if (&n != leader) list += ", \"" + n.ingest + "\"";
  const std::string config = agent_state + ".toml";
  std::string c = "[agent]\nstate_dir = \"" + agent_state + "\"\n[daemon]\napi = \"" + leader->api +
                  "\"\ncluster_ingest = [" + list +
                  "]\n[batch]\nmax_records = 500\nmax_delay_ms = 20\n";
  if (b.options.ack_timeout_ms > 0)
    c += "[limits]\nack_timeout_ms = " + std::to_string(b.options.ack_timeout_ms) + "\n";
  write_text(config, c);
  pid_t agent = spawn({kBin + "gongshu-agent", "run", "--config", config}, config + ".log");
  // The load: 500 records every 100 ms (5,000 records/s), submitted to the agent's spool.
  std::atomic<bool> stop{false};
  std::atomic<int64_t> submitted{0};
  std::thread load([&] {
    uint64_t next = 0;
    while (!stop) {
      const std::string file = agent_state + "-load.jsonl";
      {
        std::ofstream out(file, std::ios::binary);
        for (int i = 0; i < 500; ++i, ++next)
          out << "{\"record_key\":\"f-" << next << "\",\"fields\":{\"citizen_id\":\""
              << citizen(next)
              << "\",\"name\":\"张三\",\"household_size\":3,\"address\":\"石家庄市\"}}\n";
      }
      Ran r = run({kBin + "gongshu-agent", "submit", "--dataset", "population.household", file,
                   "--config", config},
                  config + ".submit.err");
      if (r.code != 0) die("gongshu-agent submit failed: " + read_text(config + ".submit.err"));
      submitted += 500;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  auto acknowledged = [&] {
    Ran r = run({kBin + "gongshu-agent", "status", "--json", "--config", config});
    return json_int(r.out, "acknowledged", 0);
  };
  if (!wait_for([&] { return acknowledged() >= 5000; }, std::chrono::seconds(60)))
    die("the agent's load was not acknowledged: " + read_text(config + ".log"));
  const int64_t killed = mono_ns();
  ::kill(leader->pid, SIGKILL);
  ::waitpid(leader->pid, nullptr, 0);
  leader->pid = -1;
  Failover f;
  Node* next = nullptr;
  wait_for(
      [&] {
        for (auto& n : nodes) {
          if (n.pid <= 0) continue;
          std::string s = b.status(n);
          if (s.find("\"this_node_leads\":true") == std::string::npos) continue;
          next = &n;
          f.elected_ms = double(json_int(s, "leader_since_mono_ns") - killed) / 1e6;
          int64_t ack = json_int(s, "last_ack_mono_ns", 0);
          if (ack > killed) {
            f.first_ack_ms = double(ack - killed) / 1e6;
            return true;
          }
        }
        return false;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(20));
  stop = true;
  load.join();
  if (!next || f.first_ack_ms < 0) die(name + ": no ack by a new leader within 60 s");
  // Everything the agent submitted is acknowledged, and the new leader holds each record once.
  wait_for([&] { return acknowledged() >= submitted.load(); }, std::chrono::seconds(60),
           std::chrono::milliseconds(200));
  f.acknowledged = acknowledged();
  f.on_new_leader = b.records(*next);
  f.exactly_once = f.acknowledged == submitted.load() && f.on_new_leader == f.acknowledged;
  ::kill(agent, SIGTERM);
  ::waitpid(agent, nullptr, 0);
  for (auto& n : nodes) b.stop(n);
  for (auto& n : nodes) fs::remove_all(n.state);
  fs::remove_all(agent_state);
  return f;
}

}  // namespace

int run_cluster_bench(const CommonOptions& options) {
  Bench b;
  b.options = options;
  b.dir = (fs::temp_directory_path() / ("gongshu-bench-cluster-" + std::to_string(::getpid())))
              .string();
  fs::remove_all(b.dir);
  const std::string load_before = load_average();
  b.build_template();
  Agents set;
  set.daemon = *crypto::PublicKey::from_hex(b.daemon_key);
  for (const auto& d : b.agent_dirs) {
    auto k = crypto::load_key_file(d + "/agent.key");
    if (!k) die("cannot load " + d + "/agent.key: " + k.error().message());
    set.agents.push_back({std::move(k->key), 1});
  }
  auto ctx = std::move(*wire::Context::create(1));
  const uint64_t per_agent = options.records / set.agents.size();

  // Single node.
  Node single = b.single_node();
  const double single_cpu0 = cpu_s(single.pid);
  Rate s_full = run_agents(ctx, set, single.ingest, per_agent, 1000, options.window, 0);
  const double single_cpu_us = (cpu_s(single.pid) - single_cpu0) * 1e6 / double(s_full.records);
  Rate s_half = run_agents(ctx, set, single.ingest, per_agent / 2, 1000, options.window,
                           s_full.records_per_s / 2);
  b.stop(single);
  fs::remove_all(single.state);
  for (auto& a : set.agents) a.next_seq = 1;  // fresh copies of the template: new batch numbers

  // Replicated.
  Etcd etcd(b.dir);
  std::vector<Node> nodes = b.cluster(etcd, "bench-rate");
  Node* leader = b.leader(nodes, std::chrono::seconds(30));
  if (!leader) die("no leader elected");
  // The replicas must have said hello before the leader can hold acks for them.
  Rate warm = run_agents(ctx, set, leader->ingest, 1000, 1000, options.window, 0);
  (void)warm;
  std::vector<Node*> order = {leader};
  for (auto& n : nodes)
    if (&n != leader) order.push_back(&n);
  std::vector<double> cpu0;
  for (Node* n : order) cpu0.push_back(cpu_s(n->pid));
  double etcd0 = 0;
  for (pid_t p : etcd.pids) etcd0 += cpu_s(p);
  Rate r_full = run_agents(ctx, set, leader->ingest, per_agent, 1000, options.window, 0);
  std::vector<double> cpu_us;
  for (size_t i = 0; i < order.size(); ++i)
    cpu_us.push_back((cpu_s(order[i]->pid) - cpu0[i]) * 1e6 / double(r_full.records));
  double etcd1 = 0;
  for (pid_t p : etcd.pids) etcd1 += cpu_s(p);
  const double etcd_us = (etcd1 - etcd0) * 1e6 / double(r_full.records);
  LagSampler lag(b, order);
  Rate r_half = run_agents(ctx, set, leader->ingest, per_agent / 2, 1000, options.window,
                           s_full.records_per_s / 2);
  lag.finish();
  // The same at half of what the cluster itself sustained: the latency when it is not overloaded.
  Rate r_quarter = run_agents(ctx, set, leader->ingest, per_agent / 2, 1000, options.window,
                              r_full.records_per_s / 2);
  // Catch-up: how long after the last ack both replicas hold every record.
  const int64_t want = b.records(*leader);
  const auto caught_t0 = Clock::now();
  wait_for(
      [&] {
        for (size_t i = 1; i < order.size(); ++i)
          if (b.records(*order[i]) < want) return false;
        return true;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(20));
  const double catch_up_ms = secs(Clock::now() - caught_t0) * 1000;
  for (auto& n : nodes) b.stop(n);
  for (auto& n : nodes) fs::remove_all(n.state);

  // Reads: a fresh cluster with the shipped policy, its agency rate class raised.
  const std::string policy = b.dir + "/policy";
  if (run({"/bin/cp", "-a", kSource + "/policies/policy", policy}).code != 0) die("cp failed");
  write_text(policy + "/rates.toml",
             "[[rate]]\nid = \"public\"\nrequests_per_minute = 60\nburst = 20\n\n"
             "[[rate]]\nid = \"applicant\"\nrequests_per_minute = 120\nburst = 30\n\n"
             "[[rate]]\nid = \"licensed\"\nrequests_per_minute = 120\nburst = 30\n\n"
             "[[rate]]\nid = \"agency\"\nrequests_per_minute = 6000000\nburst = 100000\n\n"
             "[[rate]]\nid = \"staff\"\nrequests_per_minute = 600\nburst = 100\n");
  for (auto& a : set.agents) a.next_seq = 1;
  std::vector<Node> rnodes = b.cluster(etcd, "bench-read", policy);
  Node* rleader = b.leader(rnodes, std::chrono::seconds(30));
  if (!rleader) die("no leader elected (reads)");
  Rate loaded = run_agents(ctx, set, rleader->ingest, 1000, 1000, options.window, 0);
  std::vector<std::string> all_apis = {rleader->api};
  for (auto& n : rnodes)
    if (&n != rleader) all_apis.push_back(n.api);
  if (!wait_for(
          [&] {
            for (auto& n : rnodes)
              if (b.records(n) < int64_t(loaded.records)) return false;
            return true;
          },
          std::chrono::seconds(30)))
    die("the replicas did not catch up before the reads");
  auto reader = crypto::load_key_file(b.reader_key);
  if (!reader) die("cannot load " + b.reader_key);
  const auto read_for = std::chrono::milliseconds(4000);
  Reads on_leader = run_lookups(ctx, reader->key, set.daemon, {rleader->api}, 6, 4, read_for);
  Reads spread = run_lookups(ctx, reader->key, set.daemon, all_apis, 6, 4, read_for);
  Reads replicas =
      run_lookups(ctx, reader->key, set.daemon, {all_apis[1], all_apis[2]}, 6, 4, read_for);
  for (auto& n : rnodes) b.stop(n);
  for (auto& n : rnodes) fs::remove_all(n.state);

  std::vector<Failover> fo;
  for (int i = 1; i <= options.failovers; ++i) fo.push_back(failover_run(b, etcd, i));
  const std::string load_after = load_average();

  const double ratio = 100 * r_full.records_per_s / s_full.records_per_s;
  std::printf(
      "replication through the daemons: 3 etcd members, 3 gongshud (sync_count 1, lease %s), %zu "
      "in-process agents,\n%llu records of 512 bytes per run, batches of 1,000, window %zu; load "
      "average before %s, after %s\n",
      options.lease_ttl_s > 0 ? (std::to_string(options.lease_ttl_s) + " s").c_str()
                              : "default 5 s",
      set.agents.size(), (unsigned long long)options.records, options.window, load_before.c_str(),
      load_after.c_str());
  std::printf("  single node     %10.0f records/s   p50 %6.1f ms  p99 %6.1f ms\n",
              s_full.records_per_s, s_full.p50_ms, s_full.p99_ms);
  std::printf(
      "  replicated      %10.0f records/s   p50 %6.1f ms  p99 %6.1f ms   %.1f%% of single (target "
      ">= 60%%)\n",
      r_full.records_per_s, r_full.p50_ms, r_full.p99_ms, ratio);
  std::printf(
      "  CPU per record at full rate: single node %.2f us; replicated leader %.2f us, replicas "
      "%.2f and %.2f us, etcd (3 members) %.2f us\n",
      single_cpu_us, cpu_us[0], cpu_us[1], cpu_us[2], etcd_us);
  std::printf("  at half the single node's rate (%.0f records/s):\n", s_full.records_per_s / 2);
  std::printf("    single node   %10.0f records/s   ack p50 %6.1f ms  p99 %6.1f ms\n",
              s_half.records_per_s, s_half.p50_ms, s_half.p99_ms);
  std::printf(
      "    replicated    %10.0f records/s   ack p50 %6.1f ms  p99 %6.1f ms   (target p99 <= 100 "
      "ms)\n",
      r_half.records_per_s, r_half.p50_ms, r_half.p99_ms);
  std::printf(
      "    replica lag during it (replicated): p50 %.0f ms, p99 %.0f ms, max %.0f ms (%zu samples, "
      "250 ms "
      "apart); lag_seq at most %lld;\n    both replicas complete %.0f ms after the last ack\n",
      pct(lag.lag_ms, 0.5), pct(lag.lag_ms, 0.99),
      lag.lag_ms.empty() ? 0.0 : *std::max_element(lag.lag_ms.begin(), lag.lag_ms.end()),
      lag.lag_ms.size(), (long long)lag.max_lag_seq, catch_up_ms);
  std::printf(
      "  at half the replicated rate (%.0f records/s): replicated %.0f records/s, ack p50 %.1f ms "
      "p99 %.1f ms\n",
      r_full.records_per_s / 2, r_quarter.records_per_s, r_quarter.p50_ms, r_quarter.p99_ms);
  std::printf(
      "  lookups (an agency key, 6 connections x 4 in flight, %.0f s each, %llu records): leader "
      "alone %.0f/s; leader + 2 replicas %.0f/s (%.2fx); the 2 replicas alone %.0f/s; refused "
      "%llu / %llu / %llu%s%s\n",
      secs(read_for), (unsigned long long)loaded.records, on_leader.per_s, spread.per_s,
      on_leader.per_s > 0 ? spread.per_s / on_leader.per_s : 0.0, replicas.per_s,
      (unsigned long long)on_leader.refused, (unsigned long long)spread.refused,
      (unsigned long long)replicas.refused,
      spread.first_refusal.empty() && on_leader.first_refusal.empty() &&
              replicas.first_refusal.empty()
          ? ""
          : ": ",
      (on_leader.first_refusal + " " + spread.first_refusal + " " + replicas.first_refusal)
          .substr(0, 200)
          .c_str());
  bool ok = ratio >= 60 && r_half.p99_ms <= 100;
  for (size_t i = 0; i < fo.size(); ++i) {
    std::printf(
        "  failover %zu: SIGKILL of the leader -> new leader %6.0f ms, first ack by it %6.0f ms "
        "(target <= 10000); %lld acknowledged, %lld on the new leader: %s\n",
        i + 1, fo[i].elected_ms, fo[i].first_ack_ms, (long long)fo[i].acknowledged,
        (long long)fo[i].on_new_leader, fo[i].exactly_once ? "each once" : "MISMATCH");
    ok = ok && fo[i].first_ack_ms <= 10000 && fo[i].exactly_once;
  }
  std::printf("  %s\n", ok ? "targets met" : "TARGETS MISSED");
  fs::remove_all(b.dir);
  return ok ? 0 : 1;
}

}  // namespace gongshu::bench
