// bench_replication (store level): what the replicated mode's data path costs the writer. The
// daemon's ingest writer shape — group commits of N records of 512 bytes written through
// append_reserve into a records table, a subject-index put per record and one audit entry per
// group, durable commit — in three modes, in the same run:
//   off        no commit hook: the single-node default (recording costs one pointer test)
//   encode     a hook that records, encodes and hashes each write set and stores nothing: the
//              CPU part of the cost, apart from the bytes the changelog writes
//   record     the changelog as commit hook: every write recorded, encoded, hashed, chained and
//              stored in the same transaction (bounded changelog)
//   semi-sync  record + a Shipper streaming to one replica (its own store, an Applier over CURVE
//              on 127.0.0.1) that applies each write set in one fsynced transaction and acks;
//              the writer does not wait (as docs/replication.md §4), an acker thread measures
//              commit -> replica ack per group; the rate counts until the last ack
//
//   bench_replication [--part store|daemons|both] [--records N] [--group N]
//                     [--cluster-records N] [--agents N] [--failovers N] [--lease-ttl-s N]
//                     [--ack-timeout-ms N]
//
// --part daemons (in both, after the store level) runs cluster_bench.cc: the same questions
// through real etcd, gongshud and agents (rate and ratio to one node, ack latency at half rate,
// replica lag, failover time). --cluster-records is its records per rate run (default 200,000).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "bench/replication/cluster_bench.h"
#include "core/audit/log.h"
#include "core/replication/applier.h"
#include "core/replication/changelog.h"
#include "core/replication/shipper.h"
#include "core/store/table.h"
#include "core/util/clock.h"

namespace {

using namespace gongshu;
using namespace gongshu::replication;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

void must(bool ok, const char* what, const std::string& why = "") {
  if (ok) return;
  std::fprintf(stderr, "bench_replication: %s %s\n", what, why.c_str());
  std::exit(1);
}

crypto::IdentityKey key(uint8_t b) {
  crypto::SecretBytes seed(32);
  for (size_t i = 0; i < 32; ++i) seed.data()[i] = static_cast<uint8_t>(b + i);
  return std::move(*crypto::IdentityKey::from_seed(seed));
}

struct Store {
  explicit Store(const std::string& dir) {
    fs::create_directories(dir);
    env = std::move(*store::Env::open(dir, {.map_size = size_t(8) << 30}));
    audit::AuditLogOptions ao;
    ao.origin = "gongshu.bench/audit";
    ao.checkpoint_every = 1u << 30;
    audit = std::move(*audit::AuditLog::open(*env, signer, ao, SystemClock::instance()));
    records = *env->open_db("records");
    index = *env->open_db("subject_index");
    auto* log = audit.get();
    changelog = std::move(*Changelog::open(*env, [log](const store::Txn& t) -> Result<AuditState> {
      auto h = log->head(t);
      return AuditState{h.size, h.root};
    }));
  }
  ~Store() {
    env->set_commit_hook(nullptr);
    changelog.reset();
    audit.reset();
    env.reset();
  }
  crypto::IdentityKey signer = key(1);
  std::unique_ptr<store::Env> env;
  std::unique_ptr<audit::AuditLog> audit;
  std::unique_ptr<Changelog> changelog;
  store::Db records, index;
};

std::string record_bytes(uint64_t i) {
  std::string s = "record " + std::to_string(i) + " ";
  s.resize(512, 'x');
  return s;
}

void write_group(Store& s, uint64_t first, uint64_t n) {
  auto txn = s.env->begin_write();
  must(bool(txn), "begin");
  for (uint64_t i = first; i < first + n; ++i) {
    std::string v = record_bytes(i);
    auto slot = txn->append_reserve(s.records, store::u64_key(i), v.size());
    must(bool(slot), "reserve");
    std::memcpy(slot->data(), v.data(), v.size());
    std::string subject = "subject-" + std::to_string(i % 100000) + "/" + std::to_string(i);
    must(bool(txn->put(s.index, as_bytes(subject), store::u64_key(i))), "index");
  }
  v1::AuditEntry e;
  e.set_action("ingest");
  e.set_dataset("population.household");
  e.set_record_count(n);
  must(bool(s.audit->append(*txn, e)), "audit");
  auto c = std::move(*txn).commit();
  must(bool(c), "commit", c ? "" : c.error().message());
}

// The CPU part alone: record, encode, hash; store nothing.
struct EncodeOnly : store::CommitHook {
  uint64_t seq = 0;
  size_t bytes = 0;
  Status before_commit(store::WriteTxn&, const store::WriteSet& w) override {
    WriteSetHeader h{1, ++seq, {}, {}};
    GONGSHU_TRY(Bytes b, encode_write_set(h, w));
    bytes += b.size();
    return {};
  }
  void after_commit() noexcept override {}
};

struct Figures {
  double records_per_s = 0;
  double p50_ms = 0, p99_ms = 0;  // semi-sync: commit -> replica ack
  uint64_t changelog_bytes = 0;
};

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

Figures run(const std::string& dir, int mode, uint64_t records, uint64_t group) {
  Store primary(dir + "/primary");
  EncodeOnly encode_only;
  if (mode == 3) primary.env->set_commit_hook(&encode_only);
  if (mode == 1 || mode == 2) {
    primary.changelog->set_term(1);
    primary.env->set_commit_hook(primary.changelog.get());
  }
  std::unique_ptr<Store> replica;
  std::unique_ptr<Shipper> shipper;
  std::unique_ptr<Applier> applier;
  auto pkey = key(40), rkey = key(50);
  std::vector<Clock::time_point> committed(records / group + 2);
  std::vector<double> lat;
  std::atomic<uint64_t> last_committed{0};
  std::thread acker;
  if (mode == 2) {
    replica = std::make_unique<Store>(dir + "/replica");
    ShipperOptions so;
    so.node = "a";
    auto sh =
        Shipper::start(*primary.env, *primary.changelog, pkey, {{"b", rkey.public_key()}}, so);
    must(bool(sh), "shipper", sh ? "" : sh.error().message());
    shipper = std::move(*sh);
    Shipper* raw = shipper.get();
    primary.changelog->set_listener([raw](uint64_t) { raw->notify(); });
    ApplierOptions ao;
    ao.node = "b";
    ao.primary_node = "a";
    ao.primary_endpoint = shipper->endpoint();
    ao.primary_key = pkey.public_key();
    applier = std::move(*Applier::start(*replica->env, *replica->changelog, rkey, ao));
    acker = std::thread([&] {
      const uint64_t groups = records / group;
      for (uint64_t seq = 1; seq <= groups; ++seq) {
        while (last_committed.load() < seq) std::this_thread::yield();
        must(shipper->wait_for_acks(seq, {"b"}, Clock::now() + std::chrono::seconds(30)),
             "replica ack timed out");
        lat.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - committed[seq]).count());
      }
    });
  }
  auto t0 = Clock::now();
  uint64_t seq = 0;
  for (uint64_t i = 0; i < records; i += group) {
    write_group(primary, i, group);
    committed[++seq] = Clock::now();
    last_committed.store(seq);
  }
  if (acker.joinable()) acker.join();
  Figures f;
  f.records_per_s = double(records) / std::chrono::duration<double>(Clock::now() - t0).count();
  f.p50_ms = pct(lat, 0.50);
  f.p99_ms = pct(lat, 0.99);
  auto txn = primary.env->begin_read();
  f.changelog_bytes = primary.changelog->stored_bytes(*txn);
  applier.reset();
  shipper.reset();
  return f;
}

}  // namespace

int run_store_level(uint64_t records, uint64_t group);

int main(int argc, char** argv) {
  uint64_t records = 200'000, group = 1000;
  std::string part = "both";
  gongshu::bench::CommonOptions cluster;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char* v = argv[i + 1];
    if (!std::strcmp(argv[i], "--records"))
      records = std::strtoull(v, nullptr, 10);
    else if (!std::strcmp(argv[i], "--group"))
      group = std::strtoull(v, nullptr, 10);
    else if (!std::strcmp(argv[i], "--part"))
      part = v;
    else if (!std::strcmp(argv[i], "--cluster-records"))
      cluster.records = std::strtoull(v, nullptr, 10);
    else if (!std::strcmp(argv[i], "--agents"))
      cluster.agents = std::atoi(v);
    else if (!std::strcmp(argv[i], "--failovers"))
      cluster.failovers = std::atoi(v);
    else if (!std::strcmp(argv[i], "--lease-ttl-s"))
      cluster.lease_ttl_s = std::atoi(v);
    else if (!std::strcmp(argv[i], "--ack-timeout-ms"))
      cluster.ack_timeout_ms = std::atoi(v);
    else if (!std::strcmp(argv[i], "--window"))
      cluster.window = size_t(std::max(1, std::atoi(v)));
    else {
      std::fprintf(stderr, "bench_replication: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (part != "store" && part != "daemons" && part != "both") {
    std::fprintf(stderr, "bench_replication: --part store|daemons|both\n");
    return 2;
  }
  if (cluster.agents < 1) cluster.agents = 1;
  int status = 0;
  if (part != "daemons") status |= run_store_level(records, group);
  if (part != "store") status |= gongshu::bench::run_cluster_bench(cluster);
  return status;
}

int run_store_level(uint64_t records, uint64_t group) {
  records -= records % group;
  const std::string dir =
      (fs::temp_directory_path() / ("gongshu-bench-repl-" + std::to_string(::getpid()))).string();
  const char* names[] = {"off (single node)", "record + changelog", "semi-sync, 1 replica",
                         "record + encode only"};
  Figures f[4];
  for (int round = 0; round < 2; ++round) {  // two rounds, best of each: a shared machine
    for (int mode = 0; mode < 4; ++mode) {
      Figures r =
          run(dir + "/" + std::to_string(round) + std::to_string(mode), mode, records, group);
      fs::remove_all(dir + "/" + std::to_string(round) + std::to_string(mode));
      if (r.records_per_s > f[mode].records_per_s) f[mode] = r;
    }
  }
  fs::remove_all(dir);
  std::printf(
      "replication data path, %llu records of 512 bytes, groups of %llu (one write set each)\n",
      (unsigned long long)records, (unsigned long long)group);
  for (int mode : {0, 3, 1, 2}) {
    std::printf("  %-22s %10.0f records/s  (%5.1f%% of off)", names[mode], f[mode].records_per_s,
                100 * f[mode].records_per_s / f[0].records_per_s);
    if (mode == 2)
      std::printf("  commit->replica ack p50 %.1f ms p99 %.1f ms", f[mode].p50_ms, f[mode].p99_ms);
    if (mode == 1 || mode == 2)
      std::printf("  changelog %.0f bytes/record",
                  double(f[mode].changelog_bytes) / double(records));
    std::printf("\n");
  }
  return 0;
}
