// bench_e2e: the user's path, file to durable store, with the shipped binaries (issue 19). A
// real gongshud and a real gongshu-agent run as separate processes on 127.0.0.1 (OS-chosen
// ports), set up as an operator would: init, the example agencies and catalog, an enrollment
// token, `gongshu-agent enroll`. A generated JSON Lines file of 512-byte population.household
// rows is then submitted to the agent's spool (intake) and drained by `gongshu-agent run`
// (drain: from the agent's start, which connects at once, until the daemon's status counts the
// last record accepted, i.e. durably stored). Printed: both rates, CPU per record per process
// and per thread (/proc/<pid>/task/*/stat, thread names), the agent's VmHWM, and beside them the
// same run's bench_ingest one-agent figure (the daemon with in-process agents), and minor page
// faults per record (the agent maps each large buffer afresh: agent/resident.h).
//
//   bench_e2e [--records N] [--agents 1|4|both] [--same-agency] [--window N] [--fsyncs]
//             [--no-ingest] [--spool-read-only] [--agent-binary PATH] [--rounds N]
//
// --agent-binary PATH drains with another gongshu-agent build (`run` only; enroll and submit
// are the tree's): two builds compared in one session, alternating runs.
// --window N sets the agents' [batch] window (batches unacknowledged at a time; default 8).
// --agents 4 (or both, the default) adds a run of four gongshu-agent processes, each enrolled for
// its own agency (sjz-gongan and three others, each the provider of its own copy of the
// household dataset) and each draining a quarter of the records at once: their total beside
// bench_ingest's four-agent figure. --same-agency enrolls all four for sjz-gongan and one
// dataset instead, as bench_ingest's four in-process agents are.
//
// --fsyncs adds a separate measurement run (smaller, 100,000 records) with each process under
// `strace -c -f`, counting fsync/fdatasync/msync per batch: strace slows both processes, so its
// run gives counts, never rates. Ack p50/p99 are the agents' own (`gongshu-agent status --json`
// after the drain: each batch from its send to the daemon's acknowledgement, i.e. stored).
//
// --rounds N repeats the drain and the same run's bench_ingest N times, one after the other, and
// prints each round's ratio and their median: on a machine whose load moves, one pair measured
// seconds apart says little; the median of several says what the agent usually gets.
//
// Spool read (in this process, first): the batcher's read of a spooled record
// (Spool::open_pending_records over a cursor, as make_batches reads a batch) for records written
// in the spool's format 1 (one XChaCha20-Poly1305 box per record), format 3 (one box per
// segment of 100 records; agent/spool.h) and format 4 (format 3 with each record's hash stored),
// and format 3 with each record hashed as the drain must for it, alternately, best of three
// rounds each: a same-process comparison that the machine's other load does not skew.
// --spool-read-only stops after it.

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/spool.h"
#include "bench/support/machine.h"
#include "core/batch/batch.h"
#include "core/crypto/aead.h"
#include "core/ids/citizen_id.h"
#include "tools/launch/launch.h"

namespace {

using Clock = std::chrono::steady_clock;

const std::string kBin = GONGSHU_BINARY_DIR "/bin/";
const std::string kSource = GONGSHU_SOURCE_DIR;
std::string kErrLog = "/dev/null";
const long kTick = ::sysconf(_SC_CLK_TCK);
// --same-agency: the four agents all of sjz-gongan (four keys), as bench_ingest's four are.
bool g_same_agency = false;
// --window N: the agents' [batch] window (the default configuration's when 0).
int g_window = 0;
// --agent-binary PATH: the gongshu-agent drained with (`run`), for an A/B of two builds in one
// session; enroll and submit stay the tree's.
std::string g_agent_run = kBin + "gongshu-agent";

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_e2e: %s\n", what.c_str());
  std::exit(1);
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

// Starts argv with stdout and stderr to `log` (or a pipe read into *out when log is empty and
// out is set). Returns the pid.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log, int out_fd = -1) {
  if (out_fd < 0) {  // in the background (tools/launch, as the drill and bench_replication do)
    auto pid = gongshu::launch::spawn(argv, log, log, false);
    if (!pid) die(pid.error().message());
    return *pid;
  }
  pid_t pid = ::fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    ::dup2(out_fd, 1);
    // A captured command's stderr goes to a file beside the bench's, read when it fails.
    int err = ::open(kErrLog.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err >= 0) ::dup2(err, 2);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    ::_exit(127);
  }
  return pid;
}

struct Ran {
  int status = -1;
  std::string out;
  double cpu_s = 0;
};

Ran run(const std::vector<std::string>& argv) {
  int p[2];
  if (::pipe(p) != 0) die("pipe failed");
  pid_t pid = spawn(argv, "", p[1]);
  ::close(p[1]);
  Ran r;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) r.out.append(buf, size_t(n));
  ::close(p[0]);
  struct rusage ru {};
  ::wait4(pid, &r.status, 0, &ru);
  r.cpu_s = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
            double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  return r;
}

Ran must_run(const std::vector<std::string>& argv) {
  Ran r = run(argv);
  if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
    die(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " failed: " + r.out +
        read_text(kErrLog));
  return r;
}

// CPU ticks per thread name (threads of one name summed), from /proc/<pid>/task/*/stat.
std::map<std::string, long> thread_ticks(pid_t pid) {
  std::map<std::string, long> m;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return m;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string s = read_text(dir + "/" + e->d_name + "/stat");
    size_t open = s.find('('), close = s.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::string name = s.substr(open + 1, close - open - 1);
    std::istringstream rest(s.substr(close + 2));
    std::string tok;
    long utime = 0, stime = 0;
    // After the name: state is field 3; utime and stime are fields 14 and 15.
    for (int f = 3; f <= 15 && rest >> tok; ++f) {
      if (f == 14) utime = std::atol(tok.c_str());
      if (f == 15) stime = std::atol(tok.c_str());
    }
    m[name] += utime + stime;
  }
  ::closedir(d);
  return m;
}

// Minor page faults of a whole process (field 10 of /proc/<pid>/stat): the agent's buffers of
// 64 KiB and more are mappings of their own (agent/resident.h), so each is faulted in afresh.
long minor_faults(pid_t pid) {
  std::string s = read_text("/proc/" + std::to_string(pid) + "/stat");
  size_t close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(s.substr(close + 2));
  std::string tok;
  for (int f = 3; f <= 10 && rest >> tok; ++f)
    if (f == 10) return std::atol(tok.c_str());
  return 0;
}

// The process strace started (its first child), or pid itself when it has no child: a SIGTERM
// goes to the traced program, so that strace writes its summary when that exits.
pid_t traced(pid_t pid) {
  std::string p = std::to_string(pid);
  std::string c = read_text("/proc/" + p + "/task/" + p + "/children");
  pid_t child = pid_t(std::atol(c.c_str()));
  return child > 0 ? child : pid;
}

long status_kib(pid_t pid, const char* key) {
  std::string s = read_text("/proc/" + std::to_string(pid) + "/status");
  size_t at = s.find(key);
  return at == std::string::npos ? -1 : std::atol(s.c_str() + at + std::strlen(key) + 1);
}

// 512-byte JSON Lines rows (newline included) of population.household, distinct valid citizen
// IDs, padded with an address.
void write_households(const std::string& path, uint64_t n) {
  std::ofstream out(path, std::ios::binary);
  for (uint64_t i = 0; i < n; ++i) {
    // Vary the birth date (a day per 1,000 rows over ~50 years) and the sequence number.
    int day = int((i / 1000) % 18000);
    int y = 1950 + day / 360, mo = day % 360 / 30 + 1, dd = day % 30 + 1;
    if (mo == 2 && dd > 28) dd = 28;
    char body[32];
    std::snprintf(body, sizeof body, "130102%04d%02d%02d%03d", y, mo, dd, int(i % 1000));
    std::string cid = std::string(body) + *gongshu::ids::citizen_id_check_char(body);
    std::string head = "{\"record_key\":\"hh-" + std::to_string(i) +
                       "\",\"fields\":{\"citizen_id\":\"" + cid +
                       "\",\"name\":\"张三丰\",\"household_size\":" + std::to_string(i % 7 + 1) +
                       ",\"address\":\"河北省石家庄市长安区";
    std::string tail = "\"}}\n";
    size_t pad = 512 > head.size() + tail.size() ? 512 - head.size() - tail.size() : 0;
    out << head << std::string(pad, 'x') << tail;
  }
  if (!out) die("cannot write " + path);
}

struct Platform {
  std::string dir;
  std::string daemon_config;
  pid_t daemon = -1;

  explicit Platform(const std::string& root) : dir(root) {
    must_run({kBin + "gongshud", "init", "--state", dir + "/state", "--operator-key-out",
              dir + "/operator.key", "--audit-origin", "e2e.bench/audit"});
    daemon_config = dir + "/gongshud.toml";
    write_text(daemon_config, "[daemon]\nstate_dir = \"" + dir +
                                  "/state\"\n[ingest]\nendpoint = \"tcp://127.0.0.1:*\"\n"
                                  "[api]\nendpoint = \"tcp://127.0.0.1:*\"\n");
    ::setenv("GONGSHU_DAEMON_INFO", (dir + "/state/daemon.info").c_str(), 1);
    ::setenv("GONGSHU_KEY", (dir + "/operator.key").c_str(), 1);
  }

  void start(const std::vector<std::string>& prefix = {}) {
    ::unlink((dir + "/state/daemon.info").c_str());
    std::vector<std::string> argv = prefix;
    for (auto s : {kBin + "gongshud", std::string("run"), std::string("--config"), daemon_config})
      argv.push_back(s);
    daemon = spawn(argv, dir + "/gongshud.log");
    auto ready = gongshu::launch::wait_daemon_ready(
        dir + "/state/daemon.info", [&] { return ::waitpid(daemon, nullptr, WNOHANG) != 0; },
        std::chrono::seconds(30));
    if (!ready) die("gongshud did not start: " + read_text(dir + "/gongshud.log"));
  }

  void stop() {
    if (daemon > 0) {
      ::kill(traced(daemon), SIGTERM);
      ::waitpid(daemon, nullptr, 0);
      daemon = -1;
    }
  }

  Ran ctl(std::vector<std::string> args) {
    args.insert(args.begin(), kBin + "gongshuctl");
    return must_run(args);
  }

  // The example agencies and the household dataset (provided by sjz-gongan); with agencies > 1,
  // a copy of the dataset for each of the next agencies, which provides it (bench.household.N).
  void setup_catalog(int agencies = 1) {
    ctl({"agency", "add", "--from", kSource + "/policies/agencies.toml"});
    ctl({"catalog", "add", kSource + "/policies/catalog/population_household.toml"});
    const std::string entry = read_text(kSource + "/policies/catalog/population_household.toml");
    for (int i = 1; i < agencies && !g_same_agency; ++i) {
      std::string copy = std::regex_replace(entry, std::regex("id = \"population\\.household\""),
                                            "id = \"" + dataset(i) + "\"");
      copy = std::regex_replace(copy, std::regex("provider = \"sjz-gongan\""),
                                "provider = \"" + agency(i) + "\"");
      const std::string path = dir + "/" + dataset(i) + ".toml";
      write_text(path, copy);
      ctl({"catalog", "add", path});
    }
  }
  static std::string agency(int i) {
    static const char* kAgencies[] = {"sjz-gongan", "sjz-shichang", "sjz-dianli",
                                      "sjz-ziranziyuan"};
    return kAgencies[g_same_agency ? 0 : i % 4];
  }
  static std::string dataset(int i) {
    return i == 0 || g_same_agency ? "population.household"
                                   : "bench.household." + std::to_string(i);
  }

  std::string enroll_agent(const std::string& name, const std::string& agency_id = "sjz-gongan") {
    std::string token = ctl({"enroll-token", "create", "--agency", agency_id, "--ttl", "1h"}).out;
    while (!token.empty() && token.back() == '\n') token.pop_back();
    std::string config = dir + "/agent-" + name + ".toml";
    write_text(config, "[agent]\nstate_dir = \"" + dir + "/agent-" + name +
                           "\"\n[batch]\nmax_records = 1000\nmax_delay_ms = 20\n" +
                           (g_window > 0 ? "window = " + std::to_string(g_window) + "\n" : ""));
    must_run({kBin + "gongshu-agent", "enroll", token, "--config", config});
    return config;
  }

  // Records the daemon has accepted (stored durably), from its live status.
  uint64_t accepted() {
    Ran r = run({kBin + "gongshuctl", "status", "--json"});
    std::smatch m;
    if (std::regex_search(r.out, m, std::regex("\"records_accepted\":(\\d+)")))
      return std::stoull(m[1]);
    return 0;
  }
  uint64_t batches() {
    Ran r = run({kBin + "gongshuctl", "status", "--json"});
    std::smatch m;
    if (std::regex_search(r.out, m, std::regex("\"batches\":(\\d+)"))) return std::stoull(m[1]);
    return 0;
  }
};

struct Drain {
  double submit_s = 0, submit_cpu_s = 0, drain_s = 0;
  std::map<std::string, long> agent_threads, daemon_threads;  // agents' summed
  long agent_hwm_kib = 0;                                     // the largest of the agents'
  long agent_faults = 0, daemon_faults = 0;
  // Each agent's send-to-ack p50 and p99 in microseconds, as its status reports them.
  std::vector<std::pair<uint64_t, uint64_t>> acks_us;
};

uint64_t json_u64(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\":([0-9]+)"))) return 0;
  return std::stoull(m[1]);
}

// Sets up a platform in root with `agents` agents (each its own agency and dataset), submits
// `records` rows to each agent's spool, then starts every agent's `run` at once and waits until
// the daemon has stored them all; prefix wraps each process (e.g. strace). Stops every process
// before returning.
Drain measure(const std::string& root, uint64_t records, const std::string& file, int agents = 1,
              const std::vector<std::string>& daemon_prefix = {},
              const std::vector<std::string>& agent_prefix = {}) {
  ::mkdir(root.c_str(), 0700);
  Platform p(root);
  p.start(daemon_prefix);
  p.setup_catalog(agents);
  std::vector<std::string> configs;
  for (int i = 0; i < agents; ++i)
    configs.push_back(p.enroll_agent("bench" + std::to_string(i), Platform::agency(i)));
  Drain d;
  auto t0 = Clock::now();
  for (int i = 0; i < agents; ++i) {
    Ran sub = must_run({kBin + "gongshu-agent", "submit", "--dataset", Platform::dataset(i), file,
                        "--config", configs[size_t(i)]});
    d.submit_cpu_s += sub.cpu_s;
  }
  d.submit_s = secs(Clock::now() - t0);
  const uint64_t total = records * uint64_t(agents);

  auto daemon_before = thread_ticks(p.daemon);
  long daemon_faults_before = minor_faults(p.daemon);
  auto t1 = Clock::now();
  std::vector<pid_t> pids;
  for (const auto& config : configs) {
    std::vector<std::string> argv = agent_prefix;
    for (auto s : {g_agent_run, std::string("run"), std::string("--config"), config})
      argv.push_back(s);
    pids.push_back(spawn(argv, config + ".log"));
  }
  // Under strace an agent is strace's child: its /proc figures are then not read.
  std::vector<std::map<std::string, long>> last(pids.size());
  std::vector<long> faults(pids.size());
  auto sample = [&] {
    if (!agent_prefix.empty()) return;
    for (size_t i = 0; i < pids.size(); ++i) {
      // A thread that ended before this sample keeps its last figure.
      for (auto& [k, v] : thread_ticks(pids[i])) last[i][k] = v;
      faults[i] = minor_faults(pids[i]);
    }
  };
  for (;;) {
    if (p.accepted() >= total) break;
    for (size_t i = 0; i < pids.size(); ++i)
      if (::waitpid(pids[i], nullptr, WNOHANG) != 0)
        die("agent exited: " + read_text(configs[i] + ".log"));
    sample();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  d.drain_s = secs(Clock::now() - t1);
  sample();
  for (size_t i = 0; i < pids.size(); ++i) {
    for (auto& [k, v] : last[i]) d.agent_threads[k] += v;
    d.agent_faults += faults[i];
    if (agent_prefix.empty())
      d.agent_hwm_kib = std::max(d.agent_hwm_kib, status_kib(pids[i], "VmHWM:"));
  }
  auto daemon_after = thread_ticks(p.daemon);
  d.daemon_faults = minor_faults(p.daemon) - daemon_faults_before;
  for (auto& [k, v] : daemon_after) d.daemon_threads[k] = v - daemon_before[k];
  for (pid_t pid : pids) ::kill(agent_prefix.empty() ? pid : traced(pid), SIGTERM);
  for (pid_t pid : pids) ::waitpid(pid, nullptr, 0);
  // Written by each service as it stops.
  for (const auto& config : configs) {
    Ran st = run({kBin + "gongshu-agent", "status", "--json", "--no-probe", "--config", config});
    d.acks_us.emplace_back(json_u64(st.out, "ack_p50_us"), json_u64(st.out, "ack_p99_us"));
  }
  p.stop();
  return d;
}

void print_threads(const char* who, const std::map<std::string, long>& t, uint64_t records) {
  long total = 0;
  for (auto& [k, v] : t) total += v;
  std::printf("  %-7s CPU %6.2f s  %6.2f us/record\n", who, double(total) / double(kTick),
              double(total) / double(kTick) * 1e6 / double(records));
  for (auto& [k, v] : t)
    if (v > 0)
      std::printf("      %-16s %6.2f s  %6.2f us/record\n", k.c_str(), double(v) / double(kTick),
                  double(v) / double(kTick) * 1e6 / double(records));
}

// Sums strace -c's "calls" column for the named system calls.
std::map<std::string, long> strace_calls(const std::string& path) {
  std::map<std::string, long> m;
  std::istringstream in(read_text(path));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    std::vector<std::string> cols;
    std::string c;
    while (l >> c) cols.push_back(c);
    if (cols.size() >= 5 && (cols.back() == "fsync" || cols.back() == "fdatasync" ||
                             cols.back() == "msync" || cols.back() == "sync_file_range"))
      m[cols.back()] += std::atol(cols[3].c_str());
  }
  return m;
}

// Spool read cost per record (above): n records of about 512 bytes in each format, each read back
// through a cursor with open_pending_records, the best of three alternating rounds, in
// microseconds per record. format 1, 3 and 4 read as they come (format 4 with each record's hash
// stored at intake); format3_hashed adds what make_batches then does for a format-3 record and
// no longer for a format-4 one: batch::record_hash of each record.
volatile size_t g_hash_sink = 0;
struct SpoolReadUs {
  double format1 = 0, format3 = 0, format3_hashed = 0, format4 = 0;
};
SpoolReadUs spool_read_us(const std::string& dir, uint64_t n) {
  using namespace gongshu;
  auto spool_or = agent::Spool::open(dir);
  if (!spool_or) die("spool: " + spool_or.error().message());
  agent::Spool& spool = **spool_or;
  auto key = agent::load_or_create_spool_key(dir + "/spool.key", false);
  if (!key) die("spool key: " + key.error().message());
  agentpb::PendingRecord rec;
  rec.set_record(std::string(470, 'r'));
  rec.set_source("/srv/agency/households.jsonl:123456");
  rec.set_accepted_at_ms(1765000000000);
  const std::string plain = rec.SerializeAsString();
  const Bytes ad = to_bytes(std::string_view("gongshu.agent.pending\0", 22));  // with its 0
  // Transactions of 1,000 records, as submit's. Format 1 as agents wrote it before format 2: a
  // box with a random nonce per record, associated data "gongshu.agent.pending" || 0 ||
  // be64(seq). Format 3 as agents wrote it before format 4 (agent/spool.h): segments of 100,
  // each record be32(length) || PendingRecord in one AeadSegment message, associated data
  // "gongshu.agent.pending" || 0 || be64(first) || be32(count) || 0x03. Format 4: the spool's
  // own writer.
  auto fill = [&](int format) -> uint64_t {
    uint64_t first = 0;
    for (uint64_t done = 0; done < n; done += 1000) {
      auto s = spool.env().update([&](store::WriteTxn& txn) -> Status {
        auto w = spool.pending_writer(txn);
        auto segment = crypto::AeadSegment::start(*key);
        Bytes seg_plain;
        uint32_t in_segment = 0;
        uint64_t seg_first = 0;
        auto write_segment = [&]() -> Status {
          Bytes seg_ad = ad;
          append_be64(seg_ad, seg_first);
          append_be32(seg_ad, in_segment);
          seg_ad.push_back(0x03);
          Bytes v(1 + crypto::kSegmentSaltSize + 4 + seg_plain.size() + crypto::kSegmentTagSize);
          v[0] = 0x03;
          std::copy(segment.salt().begin(), segment.salt().end(), v.begin() + 1);
          put_be32(v.data() + 1 + crypto::kSegmentSaltSize, in_segment);
          segment.encrypt_into(seg_first, seg_ad, seg_plain,
                               std::span<uint8_t>(v).subspan(1 + crypto::kSegmentSaltSize + 4));
          GONGSHU_RETURN_IF_ERROR(spool.pending().append(txn, seg_first, v));
          GONGSHU_RETURN_IF_ERROR(spool.put_u64(txn, agent::kNextPending, seg_first + in_segment));
          seg_plain.clear();
          in_segment = 0;
          return {};
        };
        uint64_t i = 0;
        for (; i < 1000 && done + i < n; ++i) {
          if (format == 4) {
            GONGSHU_TRY(uint64_t seq, w.append(rec));
            if (first == 0) first = seq;
            continue;
          }
          const uint64_t seq =
              std::max<uint64_t>(spool.get_u64(txn, agent::kNextPending), 1) + in_segment;
          if (first == 0) first = seq;
          if (format == 3) {
            if (in_segment == 0) seg_first = seq;
            append_be32(seg_plain, uint32_t(plain.size()));
            append(seg_plain, plain);
            if (++in_segment == 100) GONGSHU_RETURN_IF_ERROR(write_segment());
            continue;
          }
          Bytes rec_ad = ad;
          append_be64(rec_ad, seq);
          GONGSHU_RETURN_IF_ERROR(spool.pending().append(
              txn, seq, crypto::aead_encrypt(*key, rec_ad, as_bytes(plain))));
          GONGSHU_RETURN_IF_ERROR(spool.put_u64(txn, agent::kNextPending, seq + 1));
        }
        if (in_segment > 0) GONGSHU_RETURN_IF_ERROR(write_segment());
        return w.finish();
      });
      if (!s) die("spool fill: " + s.error().message());
    }
    return first;
  };
  const uint64_t first1 = fill(1), first3 = fill(3), first4 = fill(4);
  auto read = [&](uint64_t first, int format, bool hash) {
    auto txn = spool.env().begin_read();
    if (!txn) die("spool read txn");
    agent::PendingRead entry;
    size_t sum = 0, hashes = 0;
    auto t0 = Clock::now();
    store::Cursor cur = spool.pending().cursor(*txn);
    uint64_t i = 0;
    for (auto e = cur.seek(store::u64_key(first)); e && i < n; e = cur.next()) {
      auto r = spool.open_pending_records(*store::parse_u64_key(e->key), e->value, &entry);
      if (!r) die("spool read: " + r.error().message());
      for (auto one : entry.records) sum += one.size();
      if (hash) {
        for (auto one : entry.records) hashes += batch::record_hash(as_bytes(one))[0];
      } else {
        for (const auto& h : entry.hashes) hashes += h[0];
      }
      i += entry.records.size();
    }
    double us = secs(Clock::now() - t0) * 1e6 / double(n);
    if (sum != n * 470) die("spool read: wrong record bytes");
    if ((format == 4) != (entry.hashes.size() == entry.records.size()) && !entry.records.empty())
      die("spool read: format " + std::to_string(format) + " read with the wrong hashes");
    g_hash_sink = hashes;  // the hashes are used: not optimised away
    return us;
  };
  SpoolReadUs best{1e9, 1e9, 1e9, 1e9};
  for (int round = 0; round < 3; ++round) {
    best.format1 = std::min(best.format1, read(first1, 1, false));
    best.format3 = std::min(best.format3, read(first3, 3, false));
    best.format3_hashed = std::min(best.format3_hashed, read(first3, 3, true));
    best.format4 = std::min(best.format4, read(first4, 4, false));
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t records = 600'000;
  bool fsyncs = false, ingest = true, one = true, four = true, spool_only = false;
  int rounds = 1;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--records") && i + 1 < argc) {
      records = std::strtoull(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--agents") && i + 1 < argc) {
      const std::string a = argv[++i];
      one = a == "1" || a == "both";
      four = a == "4" || a == "both";
      if (!one && !four) die("--agents takes 1, 4 or both");
    } else if (!std::strcmp(argv[i], "--window") && i + 1 < argc) {
      g_window = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--agent-binary") && i + 1 < argc) {
      g_agent_run = argv[++i];
    } else if (!std::strcmp(argv[i], "--same-agency")) {
      g_same_agency = true;
    } else if (!std::strcmp(argv[i], "--fsyncs")) {
      fsyncs = true;
    } else if (!std::strcmp(argv[i], "--spool-read-only")) {
      spool_only = true;
    } else if (!std::strcmp(argv[i], "--no-ingest")) {
      ingest = false;
    } else if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else {
      die("usage: bench_e2e [--records N] [--agents 1|4|both] [--same-agency] [--window N] "
          "[--fsyncs] [--no-ingest] [--spool-read-only] [--agent-binary PATH] [--rounds N]");
    }
  }
  char tmpl[] = "/tmp/bench_e2e.XXXXXX";
  if (!::mkdtemp(tmpl)) die("mkdtemp failed");
  const std::string root = tmpl;
  kErrLog = root + "/last-command.err";
  {
    const uint64_t n = std::min<uint64_t>(records, 200'000);
    const SpoolReadUs us = spool_read_us(root + "/spool-read", n);
    std::filesystem::remove_all(root + "/spool-read");
    std::printf(
        "spool read (in process, %llu records each, best of 3): format 1 %.2f us/record, "
        "format 3 %.2f us/record (%.0f%%), format 4 %.2f us/record with each record's hash "
        "(format 3 and hashing each record, as the drain did: %.2f)\n",
        (unsigned long long)n, us.format1, us.format3, 100.0 * us.format3 / us.format1, us.format4,
        us.format3_hashed);
    if (spool_only) {
      std::filesystem::remove_all(root);
      return 0;
    }
  }
  const std::string file = root + "/households.jsonl";
  write_households(file, records);

  std::printf("bench_e2e: %llu records of 512 bytes, gongshu-agent -> gongshud on 127.0.0.1\n",
              (unsigned long long)records);
  auto report = [&](const Drain& d, const char* submit, const char* drain) {
    std::printf("  intake  (%-26s %10.0f records/s  (%.2f s, %.2f us CPU/record)\n", submit,
                double(records) / d.submit_s, d.submit_s, d.submit_cpu_s * 1e6 / double(records));
    std::printf("  drain   (%-26s %10.0f records/s  (%.2f s, start to last stored)\n", drain,
                double(records) / d.drain_s, d.drain_s);
    print_threads("agent", d.agent_threads, records);
    print_threads("daemon", d.daemon_threads, records);
    std::printf("  agent VmHWM %ld KiB%s\n", d.agent_hwm_kib,
                std::strstr(drain, "4") ? " (the largest of the four)" : "");
    std::printf("  minor page faults per record: agent %.2f, daemon %.2f\n",
                double(d.agent_faults) / double(records),
                double(d.daemon_faults) / double(records));
    // Four agents: the largest p50 and p99 of the four.
    uint64_t p50 = 0, p99 = 0;
    for (auto [a, b] : d.acks_us) p50 = std::max(p50, a), p99 = std::max(p99, b);
    std::printf("  ack p50/p99 %.1f / %.1f ms  (send to stored, the agent's status%s)\n",
                double(p50) / 1e3, double(p99) / 1e3,
                d.acks_us.size() > 1 ? "; the largest of the four" : "");
  };
  const std::string quarter = root + "/quarter.jsonl";
  const uint64_t each = records / 4;  // four agents: the same number of records in all
  if (four) write_households(quarter, each);
  std::vector<double> ratios1, ratios4;
  for (int round = 1; round <= rounds; ++round) {
    if (rounds > 1) {
      std::printf("round %d of %d (load average %s)\n", round, rounds,
                  gongshu::bench::load_average().c_str());
    }
    const std::string dir = root + "/round" + std::to_string(round);
    ::mkdir(dir.c_str(), 0700);
    double drain1 = 0, drain4 = 0;
    if (one) {
      Drain d = measure(dir + "/run", records, file);
      drain1 = double(records) / d.drain_s;
      report(d, "gongshu-agent submit)", "gongshu-agent run)");
    }
    if (four) {
      Drain d = measure(dir + "/run4", each, quarter, 4);
      drain4 = double(each * 4) / d.drain_s;
      std::printf("  four agents, %s, %llu records each:\n",
                  g_same_agency ? "one agency (four keys)" : "four agencies",
                  (unsigned long long)each);
      report(d, "4 x submit, one by one)", "4 x run, at once)");
    }
    std::filesystem::remove_all(dir);
    if (!ingest) continue;
    Ran r = run({GONGSHU_BINARY_DIR "/bench/bench_ingest", "--records", "200000"});
    std::smatch m;
    const std::string out = r.out;
    bool found = false;
    if (std::regex_search(out, m, std::regex("1 agent +([0-9]+) records/s[^\n]*"))) {
      found = true;
      std::printf("  bench_ingest (same run) %s\n", m[0].str().c_str());
      if (one) {
        ratios1.push_back(100.0 * drain1 / std::stod(m[1]));
        std::printf("  drain / bench_ingest one agent   %10.0f%%\n", ratios1.back());
      }
    }
    if (std::regex_search(out, m, std::regex("4 agents +([0-9]+) records/s[^\n]*"))) {
      found = true;
      std::printf("  bench_ingest (same run) %s\n", m[0].str().c_str());
      if (four) {
        ratios4.push_back(100.0 * drain4 / std::stod(m[1]));
        std::printf("  four agents' drain / bench_ingest four agents %5.0f%%\n", ratios4.back());
      }
    }
    if (!found)
      std::printf("  bench_ingest failed; run %s/bench/bench_ingest\n", GONGSHU_BINARY_DIR);
  }
  // Each round's ratio in percent: their median and range, after more than one round.
  auto summary = [&](const char* what, std::vector<double> v) {
    if (rounds < 2 || v.empty()) return;
    std::sort(v.begin(), v.end());
    const double median =
        v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    std::printf("median of %zu rounds: %s %.0f%% (range %.0f-%.0f%%)\n", v.size(), what, median,
                v.front(), v.back());
  };
  summary("drain / bench_ingest one agent", ratios1);
  summary("four agents / bench_ingest four", ratios4);

  if (fsyncs) {
    const uint64_t n = std::min<uint64_t>(records, 100'000);
    const std::string small = root + "/small.jsonl";
    write_households(small, n);
    const std::string a = root + "/strace-agent.txt", s = root + "/strace-daemon.txt";
    const std::vector<std::string> trace = {
        "/usr/bin/strace", "-c", "-f", "-e", "trace=fsync,fdatasync,msync,sync_file_range", "-o"};
    auto with = [&](std::string out) {
      auto v = trace;
      v.push_back(out);
      return v;
    };
    measure(root + "/strace", n, small, 1, with(s), with(a));
    const uint64_t batches = (n + 999) / 1000;
    for (auto [who, path] : {std::pair{"agent", a}, std::pair{"daemon", s}}) {
      long total = 0;
      std::string parts;
      for (auto& [k, v] : strace_calls(path)) {
        total += v;
        parts += " " + k + " " + std::to_string(v);
      }
      std::printf(
          "  %-7s syncs per batch %6.2f  (%s; %llu batches, separate run under strace -c -f;"
          " includes submit/setup for the daemon only)\n",
          who, double(total) / double(batches), parts.c_str(), (unsigned long long)batches);
    }
  }

  std::filesystem::remove_all(root);
  return 0;
}
