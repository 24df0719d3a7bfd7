// bench_ingest: records/s through gongshud with everything on — batches signed and sealed by
// the agents, opened and verified by the daemon, every record validated, encrypted at rest and
// indexed, group-committed durably with its audit entry and a signed receipt — for 1 and 4
// agents, with the latency from sending a batch to its acknowledgement, and the CPU each kind of
// daemon thread spends per record. Printed beside the same run's limits: raw LMDB group-commit
// append of the same bytes, raw ZeroMQ PUSH/PULL of the same bytes (and the same with CURVE,
// DEALER to ROUTER, as ingest uses it), and the raw Ed25519 verify rate.
//
//   bench_ingest [--records N] [--batch N] [--window N]
//
// Targets (issue 4): >= 100,000 records/s end to end (>= 20% of the raw LMDB limit); p99 batch
// latency <= 50 ms at half that rate.

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <zmq.hpp>
#include "bench/support/household.h"
#include "core/batch/batch.h"
#include "core/catalog/dataset.h"
#include "core/crypto/key_file.h"
#include "core/ids/citizen_id.h"
#include "core/store/table.h"
#include "core/util/fd.h"
#include "core/wire/client_channel.h"
#include "core/wire/codec.h"
#include "core/wire/server_channel.h"
#include "daemon/daemon.h"
#include "gongshu/v1/api.pb.h"
#include "gongshu/v1/record.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace gongshu;

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A step of the measurement that failed makes every figure after it wrong: stop and say so.
void must(const Status& s, const char* what) {
  if (s) return;
  std::fprintf(stderr, "bench_ingest: %s: %s\n", what, s.error().message().c_str());
  std::exit(1);
}

std::string citizen(int n) {
  char body[24];
  std::snprintf(body, sizeof body, "13010219850612%03d", n % 1000);
  return std::string(body) + *ids::citizen_id_check_char(body);
}

// A 512-byte household record.
std::string record_bytes(uint64_t i) {
  return bench::household_record_512("hh-" + std::to_string(i), citizen(int(i % 1000)));
}

struct Api {
  Api(wire::Context& ctx, const crypto::IdentityKey& key, const crypto::PublicKey& daemon,
      const std::string& ep)
      : ch(std::move(*wire::ClientChannel::create(ctx, key, daemon))) {
    must(ch.connect(ep), "api connect");
  }
  v1::ApiResponse call(v1::ApiRequest req) {
    req.set_request_id(++id);
    must(ch.send(*wire::encode(req)), "api send");
    auto got = ch.receive(std::chrono::seconds(30));
    return *wire::decode_as<v1::ApiResponse>(**got, 64 << 20);
  }
  wire::ClientChannel ch;
  uint64_t id = 0;
};

struct BenchAgent {
  crypto::IdentityKey key;
  uint64_t next_seq = 1;  // batch_seq continues across runs, as a real agent's does
};

// CPU seconds each kind of thread of this process has used, by thread name (the daemon names
// its threads gs-ingest-work/-write/-net; ZeroMQ's I/O threads, of both ends, are ZMQbg/IO/*).
std::map<std::string, double> cpu_by_thread() {
  std::map<std::string, double> out;
  const double tick = double(::sysconf(_SC_CLK_TCK));
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    auto stat = read_file(task.path().string() + "/stat", 4096);
    if (!stat) continue;
    std::string text(as_chars(*stat));
    size_t open = text.find('('), close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::string name = text.substr(open + 1, close - open - 1);
    if (name.rfind("ZMQbg/IO", 0) == 0) name = "ZMQbg/IO";
    // After the name: state (field 3) ... utime (14) and stime (15).
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::strtod(field.c_str(), nullptr);
      if (i == 15) stime = std::strtod(field.c_str(), nullptr);
    }
    out[name] += (utime + stime) / tick;
  }
  return out;
}

// Bytes this process has handed to write(2) and its kin so far (/proc/self/io wchar): LMDB's
// commits, almost all of it, so the difference over a run is the store's write volume.
uint64_t bytes_written() {
  auto io = read_file("/proc/self/io", 4096);
  if (!io) return 0;
  std::string text(as_chars(*io));
  size_t at = text.find("wchar: ");
  return at == std::string::npos ? 0 : std::strtoull(text.c_str() + at + 7, nullptr, 10);
}

struct RunResult {
  double records_per_s = 0;
  double p50_ms = 0, p99_ms = 0;
  double wall_s = 0;
  uint64_t records = 0;
  daemon::IngestStats before, after;
  std::map<std::string, double> cpu_before, cpu_after;
  uint64_t written_before = 0, written_after = 0;
};

RunResult run_agents(daemon::Daemon& d, wire::Context& ctx, std::vector<BenchAgent*> keys,
                     uint64_t records_per_agent, size_t batch, size_t window, double target_rate) {
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<uint64_t> stored{0};
  std::condition_variable ready_cv;
  size_t ready = 0;
  Clock::time_point t0;
  static std::atomic<uint64_t> key_base{0};
  uint64_t base = key_base.fetch_add(uint64_t(keys.size()) * records_per_agent + 1'000'000);
  RunResult r;
  for (size_t a = 0; a < keys.size(); ++a) {
    threads.emplace_back([&, a] {
      BenchAgent& agent = *keys[a];
      auto ch = std::move(*wire::ClientChannel::create(ctx, agent.key, d.public_key()));
      must(ch.connect(d.ingest_endpoint()), "ingest connect");
      std::map<uint64_t, Clock::time_point> in_flight;
      auto mark_start = [&] {
        std::lock_guard lock(mu);
        if (t0 == Clock::time_point()) {
          t0 = Clock::now();
          r.before = d.ingest_stats();
          r.cpu_before = cpu_by_thread();
          r.written_before = bytes_written();
        }
      };
      std::vector<double> lat;
      uint64_t& next_seq = agent.next_seq;
      uint64_t sent = 0, acked = 0;
      uint64_t batches = (records_per_agent + batch - 1) / batch;
      // The agent's own work (serialising, hashing, signing, sealing) is done before the clock
      // starts: this measures the daemon. bench/agent measures the agent side.
      std::vector<Bytes> prepared;
      for (uint64_t b = 0; b < batches; ++b) {
        std::vector<std::string> recs;
        for (size_t i = 0; i < batch; ++i)
          recs.push_back(record_bytes(base + a * records_per_agent + b * batch + i));
        v1::BatchHeader h;
        h.set_agency("sjz-gongan");
        h.set_batch_seq(next_seq + b);
        prepared.push_back(*wire::encode(*batch::seal_batch(agent.key, d.public_key(), h, recs)));
      }
      {
        std::unique_lock lock(mu);
        ready++;
        ready_cv.notify_all();
        ready_cv.wait(lock, [&] { return ready == keys.size(); });
      }
      // Pace the sender when a target rate is given (for latency at half the peak rate).
      double per_batch_s = target_rate > 0 ? double(batch) * double(keys.size()) / target_rate : 0;
      mark_start();
      auto start = Clock::now();
      while (acked < batches) {
        while (sent < batches && in_flight.size() < window &&
               (per_batch_s == 0 || secs(Clock::now() - start) >= double(sent) * per_batch_s)) {
          in_flight[next_seq] = Clock::now();
          // The window keeps the queue far below its high-water mark: a send cannot fail for
          // lack of room, and a batch that was never sent would never be acknowledged.
          must(ch.send(prepared[sent]), "ingest send");
          ++next_seq;
          ++sent;
        }
        auto got = ch.receive(std::chrono::milliseconds(1));
        if (!got || !*got) continue;
        auto ack = wire::decode_as<v1::BatchAck>(**got, 64 << 20);
        if (!ack || ack->error() != v1::BATCH_OK) {
          std::fprintf(stderr, "bench_ingest: batch refused: %s\n",
                       ack ? ack->error_message().c_str() : "?");
          std::exit(1);
        }
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
  double s = secs(Clock::now() - t0);
  r.after = d.ingest_stats();
  r.cpu_after = cpu_by_thread();
  r.written_after = bytes_written();
  r.records = stored.load();
  r.wall_s = s;
  std::sort(latencies.begin(), latencies.end());
  r.records_per_s = double(stored.load()) / s;
  r.p50_ms = latencies[latencies.size() / 2];
  r.p99_ms = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
  return r;
}

struct RawLmdb {
  double records_per_s = 0;
  double bytes_per_record = 0;  // written to the store
};

RawLmdb raw_lmdb_rate(const std::string& dir, uint64_t n) {
  std::filesystem::create_directories(dir);
  auto env = std::move(*store::Env::open(dir, {.map_size = size_t(8) << 30}));
  auto t = *store::Table<uint64_t>::open(*env, "raw");
  std::string v = record_bytes(1);
  auto t0 = Clock::now();
  const uint64_t written = bytes_written();
  for (uint64_t done = 0; done < n; done += 1000) {
    auto appended = env->update([&](store::WriteTxn& txn) -> Status {
      for (uint64_t i = done; i < done + 1000; ++i)
        GONGSHU_RETURN_IF_ERROR(t.append(txn, i, as_bytes(v)));
      return {};
    });
    must(appended, "raw LMDB append");
  }
  return {double(n) / secs(Clock::now() - t0), double(bytes_written() - written) / double(n)};
}

double raw_curve_rate(wire::Context& ctx, uint64_t n, size_t batch) {
  auto server_key = crypto::IdentityKey::generate();
  auto client_key = crypto::IdentityKey::generate();
  auto zap = std::move(*wire::ZapHandler::start(ctx, [](const wire::CurveKey&, std::string_view) {
    return std::optional<std::string>("bench");
  }));
  wire::ServerOptions so;
  so.zap_domain = "bench";
  so.max_message_size = 64 << 20;
  auto server = std::move(*wire::ServerChannel::create(ctx, zap, server_key, so));
  std::string ep = *server.bind("tcp://127.0.0.1:*");
  wire::ClientOptions co;
  co.max_message_size = 64 << 20;
  auto client =
      std::move(*wire::ClientChannel::create(ctx, client_key, server_key.public_key(), co));
  must(client.connect(ep), "raw CURVE connect");
  // The same bytes as a batch of records, sent as one message per batch.
  std::string payload;
  for (size_t i = 0; i < batch; ++i) payload += record_bytes(i);
  uint64_t messages = n / batch;
  auto t0 = Clock::now();
  std::thread sender([&] {
    for (uint64_t i = 0; i < messages;) {
      if (client.send(as_bytes(payload))) ++i;
    }
  });
  for (uint64_t got = 0; got < messages;) {
    auto in = server.receive(std::chrono::seconds(5));
    if (in && *in) ++got;
  }
  sender.join();
  return double(messages * batch) / secs(Clock::now() - t0);
}

// Plain ZeroMQ PUSH -> PULL over TCP on 127.0.0.1, no security: the transport's own limit for
// the same bytes, one message per batch. (cppzmq directly: this measures the library itself.)
double raw_push_pull_rate(uint64_t n, size_t batch) {
  zmq::context_t ctx(1);
  zmq::socket_t pull(ctx, zmq::socket_type::pull);
  pull.set(zmq::sockopt::linger, 0);
  pull.bind("tcp://127.0.0.1:*");
  const std::string ep = pull.get(zmq::sockopt::last_endpoint);
  zmq::socket_t push(ctx, zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 0);
  push.connect(ep);
  std::string payload;
  for (size_t i = 0; i < batch; ++i) payload += record_bytes(i);
  const uint64_t messages = n / batch;
  auto t0 = Clock::now();
  std::thread sender([&] {
    // Blocking send and receive: cppzmq reports a failure by throwing, and an empty result only
    // for a non-blocking call, so there is nothing to read in what they return.
    for (uint64_t i = 0; i < messages; ++i) (void)push.send(zmq::buffer(payload));
  });
  zmq::message_t msg;
  for (uint64_t got = 0; got < messages; ++got) (void)pull.recv(msg);
  sender.join();
  return double(messages * batch) / secs(Clock::now() - t0);
}

double raw_verify_rate() {
  auto key = crypto::IdentityKey::generate();
  Bytes msg(200, 7);
  auto sig = key.sign("bench", msg);
  int n = 20000;
  auto t0 = Clock::now();
  int ok = 0;
  for (int i = 0; i < n; ++i) ok += crypto::verify(key.public_key(), "bench", msg, sig);
  return ok / secs(Clock::now() - t0);
}

long rss_kib() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t records = 200'000;
  size_t batch_size = 1000, window = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--records"))
      records = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--batch"))
      batch_size = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--window"))
      window = std::strtoull(argv[i + 1], nullptr, 10);
  }
  namespace fs = std::filesystem;
  std::string dir =
      (fs::temp_directory_path() / ("gongshu-bench-ingest-" + std::to_string(::getpid()))).string();
  fs::create_directories(dir);
  auto init = daemon::init_state(dir + "/state", dir + "/op.key", "gongshu.bench/audit",
                                 SystemClock::instance());
  if (!init) {
    std::fprintf(stderr, "bench_ingest: %s\n", init.error().message().c_str());
    return 1;
  }
  daemon::DaemonConfig config;
  config.state_dir = dir + "/state";
  config.ingest_endpoint = "tcp://127.0.0.1:*";
  config.api_endpoint = "tcp://127.0.0.1:*";
  config.map_size_mb = 8192;
  auto d = daemon::Daemon::start(config, SystemClock::instance());
  if (!d) {
    std::fprintf(stderr, "bench_ingest: %s\n", d.error().message().c_str());
    return 1;
  }
  auto ctx = std::move(*wire::Context::create(1));
  auto op_key = std::move(crypto::load_key_file(dir + "/op.key")->key);
  std::vector<BenchAgent> keys;
  {
    Api op(ctx, op_key, (*d)->public_key(), (*d)->api_endpoint());
    v1::ApiRequest req;
    auto* a = req.mutable_agency_add()->mutable_agency();
    a->set_id("sjz-gongan");
    a->set_name("石家庄市公安局");
    a->set_type("government");
    a->set_region_code("130100");
    op.call(req);
    std::string path =
        std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/population_household.toml";
    auto entry = catalog::parse_dataset_toml(as_chars(*read_file(path, 1 << 20)), path);
    v1::ApiRequest cat;
    *cat.mutable_catalog_add()->mutable_entry() = *entry;
    op.call(cat);
    for (int i = 0; i < 4; ++i) {
      v1::ApiRequest tok;
      tok.mutable_enroll_token_create()->set_agency("sjz-gongan");
      tok.mutable_enroll_token_create()->set_ttl_seconds(600);
      std::string token = op.call(tok).enroll_token().token();
      keys.push_back(BenchAgent{crypto::IdentityKey::generate()});
      Api agent(ctx, keys.back().key, (*d)->public_key(), (*d)->api_endpoint());
      v1::ApiRequest en;
      en.mutable_enroll()->set_token(token);
      en.mutable_enroll()->set_agent_public_key(keys.back().key.public_key().hex());
      auto resp = agent.call(en);
      if (resp.error().code() != v1::API_OK) {
        std::fprintf(stderr, "bench_ingest: enroll: %s\n", resp.error().message().c_str());
        return 1;
      }
    }
  }
  auto r1 = run_agents(**d, ctx, {&keys[0]}, records, batch_size, window, 0);
  auto r4 = run_agents(**d, ctx, {&keys[0], &keys[1], &keys[2], &keys[3]}, records / 4, batch_size,
                       window, 0);
  auto half =
      run_agents(**d, ctx, {&keys[0]}, records / 2, batch_size, window, r1.records_per_s / 2);
  long daemon_rss = rss_kib();
  (*d)->stop();

  RawLmdb raw = raw_lmdb_rate(dir + "/raw", records);
  const double lmdb = raw.records_per_s;
  double curve = raw_curve_rate(ctx, records, batch_size);
  double push_pull = raw_push_pull_rate(records, batch_size);
  double verify = raw_verify_rate();
  std::printf(
      "ingest, %llu records of 512 bytes, batches of %zu, window %zu (everything on: signing,\n"
      "sealing, validation, encryption at rest, durable group commit, audit, receipts)\n",
      (unsigned long long)records, batch_size, window);
  std::printf("  1 agent                 %10.0f records/s   p50 %6.1f ms  p99 %6.1f ms\n",
              r1.records_per_s, r1.p50_ms, r1.p99_ms);
  auto share = [](const RunResult& r, uint64_t daemon::IngestStats::*f) {
    return 100.0 * double(r.after.*f - r.before.*f) / 1e9 / r.wall_s;
  };
  std::printf(
      "    daemon time per wall second: writer building %.0f%%, writer in durable commit %.0f%%,\n"
      "    workers verifying and validating %.0f%% (summed over workers)\n",
      share(r1, &daemon::IngestStats::writer_apply_ns),
      share(r1, &daemon::IngestStats::writer_commit_ns),
      share(r1, &daemon::IngestStats::prepare_ns));
  // CPU per record by thread kind: steadier than the rate on a shared machine, so it is what
  // shows whether a change made the daemon do less.
  auto cpu_line = [](const RunResult& r) {
    auto per = [&](const std::string& name) {
      auto b = r.cpu_before.find(name), a = r.cpu_after.find(name);
      double used =
          (a == r.cpu_after.end() ? 0 : a->second) - (b == r.cpu_before.end() ? 0 : b->second);
      return used * 1e6 / double(std::max<uint64_t>(r.records, 1));
    };
    std::printf(
        "    CPU per record: workers %.2f us, writer %.2f us, net %.2f us, ZeroMQ I/O (both ends) "
        "%.2f us;\n    %.0f records per commit, %.0f bytes written to the store per record\n",
        per("gs-ingest-work"), per("gs-ingest-write"), per("gs-ingest-net"), per("ZMQbg/IO"),
        double(r.records) / double(std::max<uint64_t>(r.after.commits - r.before.commits, 1)),
        double(r.written_after - r.written_before) / double(std::max<uint64_t>(r.records, 1)));
  };
  cpu_line(r1);
  std::printf("  4 agents                %10.0f records/s   p50 %6.1f ms  p99 %6.1f ms\n",
              r4.records_per_s, r4.p50_ms, r4.p99_ms);
  cpu_line(r4);
  std::printf(
      "  1 agent at half rate    %10.0f records/s   p50 %6.1f ms  p99 %6.1f ms   (target p99 <= 50 "
      "ms)\n",
      half.records_per_s, half.p50_ms, half.p99_ms);
  std::printf(
      "  limits: raw LMDB group-commit append %10.0f records/s  (ingest = %.1f%%, target >= "
      "20%%;\n          %.0f bytes written per record)\n",
      lmdb, 100 * std::max(r1.records_per_s, r4.records_per_s) / lmdb, raw.bytes_per_record);
  std::printf("          raw ZeroMQ PUSH->PULL        %10.0f records/s\n", push_pull);
  std::printf(
      "          raw CURVE DEALER->ROUTER     %10.0f records/s  (the transport as ingest uses "
      "it)\n",
      curve);
  std::printf("          raw Ed25519 verify           %10.0f signatures/s\n", verify);
  std::printf("  process max RSS (daemon + bench agents) %ld KiB\n", daemon_rss);
  const double best = std::max(r1.records_per_s, r4.records_per_s);
  bool ok = best >= 100000 && best >= 0.2 * lmdb && half.p99_ms <= 50;
  std::printf("  %s\n", ok ? "targets met" : "TARGETS MISSED");
  fs::remove_all(dir);
  return ok ? 0 : 1;
}
