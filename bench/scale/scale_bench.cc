// bench_scale: where one node ends (issue 20 item 4). One real gongshud (in process, as
// bench_ingest runs it: its real ingest and api sockets on 127.0.0.1, CURVE, the shipped policy)
// is filled in steps with 512-byte population.household records from an in-process agent
// (batches signed and sealed by the agent, verified, validated, encrypted at rest, indexed and
// group-committed durably with their audit entries and receipts). The agent seals its batches
// on a thread of its own while the daemon ingests, so a step's rate is wall time, agent work
// included. After each step, through the api as a user would (an agency principal of the
// provider, the shipped policy deciding and auditing every request):
//   - lookup p50/p99: `lookup` of a random citizen filled so far (4 records per citizen);
//   - query p50/p99: `query` of one random record by its key;
//   - store bytes per record: data.mdb's size (and its allocated blocks) over the records;
// and at the backup steps (--backup-at, default every power of ten):
//   - backup: `backup` over the api, the chunked download to a file included (gongshuctl
//     backup create's path), with the time to the first chunk (the daemon's consistent copy);
//   - restore: daemon::restore_backup, the function `gongshud restore` runs (signature, SHA-256,
//     the whole audit log verified, the restore entry appended), into a fresh state directory;
//   - audit verify: `audit_export` over the api to a file, then core/audit's verify_export (what
//     `gongshu-audit verify` runs) over the whole log.
// Filling stops at --records or when the disk's free space, less what the next step and its
// backup would take (estimated from the bytes per record so far), would fall under --min-free-gb.
//
//   bench_scale [--records N] [--first N] [--backup-at N,N,...|none] [--min-free-gb G]
//               [--samples N] [--dir DIR] [--json]

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/household.h"
#include "core/audit/checkpoint.h"
#include "core/audit/verify.h"
#include "core/batch/batch.h"
#include "core/catalog/dataset.h"
#include "core/crypto/key_file.h"
#include "core/ids/citizen_id.h"
#include "core/util/fd.h"
#include "core/wire/client_channel.h"
#include "core/wire/codec.h"
#include "daemon/backup.h"
#include "daemon/daemon.h"
#include "gongshu/v1/api.pb.h"
#include "gongshu/v1/record.pb.h"

namespace {

using Steady = std::chrono::steady_clock;
using namespace gongshu;
namespace fs = std::filesystem;

double secs(Steady::duration d) { return std::chrono::duration<double>(d).count(); }

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_scale: %s\n", what.c_str());
  std::exit(1);
}

void must(const Status& s, const char* what) {
  if (!s) die(std::string(what) + ": " + s.error().message());
}

constexpr uint64_t kPerSubject = 4;  // records per citizen

// Citizen n (0 <= n < 25,000,000): born on day n/1000 after 1950-01-01, sequence n%1000.
std::string citizen(uint64_t n) {
  using namespace std::chrono;
  year_month_day ymd(sys_days(year{1950} / 1 / 1) + days(int(n / 1000)));
  char body[24];
  std::snprintf(body, sizeof body, "130102%04d%02u%02u%03u", int(ymd.year()), unsigned(ymd.month()),
                unsigned(ymd.day()), unsigned(n % 1000));
  return std::string(body) + *ids::citizen_id_check_char(body);
}

std::string record_key(uint64_t i) { return "hh-" + std::to_string(i); }

// A 512-byte household record.
std::string record_bytes(uint64_t i) {
  return bench::household_record_512(record_key(i), citizen(i / kPerSubject));
}

struct Api {
  Api(wire::Context& ctx, const crypto::IdentityKey& key, const crypto::PublicKey& daemon,
      const std::string& ep)
      : ch(std::move(*wire::ClientChannel::create(ctx, key, daemon))) {
    must(ch.connect(ep), "api connect");
  }
  v1::ApiResponse call(v1::ApiRequest req, const char* what) {
    req.set_request_id(++id);
    must(ch.send(*wire::encode(req)), "api send");
    auto got = ch.receive(std::chrono::seconds(3600));
    if (!got || !*got) die(std::string(what) + ": no answer from the daemon");
    auto resp = wire::decode_as<v1::ApiResponse>(**got, 64 << 20);
    if (!resp) die(std::string(what) + ": undecodable answer");
    if (resp->error().code() != v1::API_OK) die(std::string(what) + ": " + resp->error().message());
    return *resp;
  }
  wire::ClientChannel ch;
  uint64_t id = 0;
};

// Batches sealed by the agent on its own thread, at most kAhead ahead of the sender.
class Sealer {
 public:
  Sealer(const crypto::IdentityKey& key, const crypto::PublicKey& daemon, uint64_t first_record,
         uint64_t records, size_t batch, uint64_t first_seq)
      : thread_([=, this, &key, &daemon] {
          uint64_t seq = first_seq;
          for (uint64_t at = first_record; at < first_record + records; at += batch) {
            std::vector<std::string> recs;
            for (uint64_t i = at; i < std::min(at + batch, first_record + records); ++i)
              recs.push_back(record_bytes(i));
            v1::BatchHeader h;
            h.set_agency("sjz-gongan");
            h.set_batch_seq(seq++);
            auto sealed = batch::seal_batch(key, daemon, h, recs);
            if (!sealed) die("seal: " + sealed.error().message());
            Bytes bytes = *wire::encode(*sealed);
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return ready_.size() < kAhead; });
            ready_.push_back({h.batch_seq(), std::move(bytes)});
            cv_.notify_all();
          }
        }) {}
  ~Sealer() { thread_.join(); }
  std::pair<uint64_t, Bytes> next() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !ready_.empty(); });
    auto b = std::move(ready_.front());
    ready_.pop_front();
    cv_.notify_all();
    return b;
  }

 private:
  static constexpr size_t kAhead = 16;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<uint64_t, Bytes>> ready_;
  std::thread thread_;
};

double free_bytes(const std::string& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return 0;
  return double(v.f_bavail) * double(v.f_frsize);
}

struct FileSize {
  uint64_t bytes = 0;      // st_size
  uint64_t allocated = 0;  // st_blocks * 512
};
FileSize file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {uint64_t(st.st_size), uint64_t(st.st_blocks) * 512};
}

struct Percentiles {
  double p50 = 0, p99 = 0;
};
Percentiles percentiles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return {};
  return {v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 99 / 100)]};
}

struct Step {
  uint64_t records = 0;
  double ingest_rps = 0;
  double ingest_s = 0;
  Percentiles lookup_ms, query_ms;
  FileSize store;
  double free_gb = 0;
  bool backed_up = false;
  double backup_s = 0, backup_first_chunk_s = 0, restore_s = 0, export_s = 0, verify_s = 0;
  uint64_t backup_bytes = 0, audit_entries = 0, restore_verified = 0;
};

// Writes the chunks of a chunked download (backup, audit export) to path.
template <typename Fetch>
uint64_t download(const std::string& path, Fetch fetch) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  uint64_t offset = 0;
  for (;;) {
    auto [data, last] = fetch(offset);
    out.write(data.data(), std::streamsize(data.size()));
    offset += data.size();
    if (last) break;
  }
  out.close();
  if (!out) die("cannot write " + path);
  return offset;
}

struct Options {
  uint64_t records = 1'000'000;
  uint64_t first = 100'000;
  std::set<uint64_t> backup_at;
  bool backup_default = true;
  double min_free_gb = 10;
  int samples = 300;
  std::string dir;
  bool json = false;
};

const char kUsage[] =
    "bench_scale: fills one gongshud store in steps (1, 3, 10, 30, ... x --first, up to\n"
    "--records) and prints after each step: ingest rate over the step, lookup and query p50/p99\n"
    "through the api, store bytes per record, and at the backup steps the hot backup, restore\n"
    "(gongshud restore's path) and full audit export + verify times.\n"
    "  --records N        fill up to N records (default 1000000); stops earlier when the disk\n"
    "                     would fall under --min-free-gb\n"
    "  --first N          the first step (default 100000)\n"
    "  --backup-at LIST   steps (record counts, comma-separated) that also measure backup,\n"
    "                     restore and audit verify; 'none' for none (default: powers of ten)\n"
    "  --min-free-gb G    free disk to keep, the next step's and its backup's needs included\n"
    "                     (default 10)\n"
    "  --samples N        lookups and queries per step (default 300)\n"
    "  --dir DIR          where the store goes (default: the temporary directory)\n"
    "  --json             one JSON document on stdout instead of the table\n";

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value\n" + kUsage);
      return argv[++i];
    };
    auto number = [&]() {
      std::string v = value();
      char* end = nullptr;
      double x = std::strtod(v.c_str(), &end);  // accepts 1e7
      if (end == v.c_str() || *end || x < 0) die(a + ": not a number: " + v);
      return x;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--records") {
      o.records = uint64_t(number());
    } else if (a == "--first") {
      o.first = std::max<uint64_t>(1000, uint64_t(number()));
    } else if (a == "--backup-at") {
      std::string v = value();
      o.backup_default = false;
      if (v != "none") {
        size_t at = 0;
        while (at <= v.size()) {
          size_t comma = v.find(',', at);
          std::string item = v.substr(at, comma == std::string::npos ? comma : comma - at);
          o.backup_at.insert(uint64_t(std::strtod(item.c_str(), nullptr)));
          if (comma == std::string::npos) break;
          at = comma + 1;
        }
      }
    } else if (a == "--min-free-gb") {
      o.min_free_gb = number();
    } else if (a == "--samples") {
      o.samples = std::max(10, int(number()));
    } else if (a == "--dir") {
      o.dir = value();
    } else if (a == "--json") {
      o.json = true;
    } else {
      die("unknown argument " + a + "\n" + kUsage);
    }
  }
  return o;
}

bool power_of_ten(uint64_t n) {
  while (n >= 10 && n % 10 == 0) n /= 10;
  return n == 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse(argc, argv);
  const std::string base = opt.dir.empty() ? fs::temp_directory_path().string() : opt.dir;
  const std::string dir = base + "/gongshu-bench-scale-" + std::to_string(::getpid());
  fs::create_directories(dir);
  const std::string state = dir + "/state";
  auto init =
      daemon::init_state(state, dir + "/op.key", "gongshu.bench/audit", SystemClock::instance());
  if (!init) die(init.error().message());
  daemon::DaemonConfig config;
  config.state_dir = state;
  config.ingest_endpoint = "tcp://127.0.0.1:*";
  config.api_endpoint = "tcp://127.0.0.1:*";
  // The shipped policy, its rate classes raised: the bench measures the read path, not the
  // limiter (600 requests a minute for an agency officer would pace the samples).
  config.policy_dir = dir + "/policy";
  fs::copy(std::string(GONGSHU_SOURCE_DIR) + "/policies/policy", config.policy_dir);
  {
    const std::string rates = config.policy_dir + "/rates.toml";
    auto text = read_file(rates, 1 << 20);
    if (!text) die(text.error().message());
    std::string t(as_chars(*text));
    t = std::regex_replace(t, std::regex("requests_per_minute = [0-9]+"),
                           "requests_per_minute = 1000000");
    t = std::regex_replace(t, std::regex("burst = [0-9]+"), "burst = 100000");
    std::ofstream(rates, std::ios::trunc) << t;
  }
  auto started = daemon::Daemon::start(config, SystemClock::instance());
  if (!started) die(started.error().message());
  daemon::Daemon& d = **started;
  auto ctx = std::move(*wire::Context::create(1));
  auto op_key = std::move(crypto::load_key_file(dir + "/op.key")->key);
  auto agent_key = crypto::IdentityKey::generate();
  auto user_key = crypto::IdentityKey::generate();
  Api op(ctx, op_key, d.public_key(), d.api_endpoint());
  {
    v1::ApiRequest req;
    auto* a = req.mutable_agency_add()->mutable_agency();
    a->set_id("sjz-gongan");
    a->set_name("石家庄市公安局");
    a->set_type("government");
    a->set_region_code("130100");
    op.call(req, "agency add");
    std::string path =
        std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/population_household.toml";
    auto entry = catalog::parse_dataset_toml(as_chars(*read_file(path, 1 << 20)), path);
    if (!entry) die(entry.error().message());
    v1::ApiRequest cat;
    *cat.mutable_catalog_add()->mutable_entry() = *entry;
    op.call(cat, "catalog add");
    v1::ApiRequest tok;
    tok.mutable_enroll_token_create()->set_agency("sjz-gongan");
    tok.mutable_enroll_token_create()->set_ttl_seconds(600);
    std::string token = op.call(tok, "enroll token").enroll_token().token();
    Api agent(ctx, agent_key, d.public_key(), d.api_endpoint());
    v1::ApiRequest en;
    en.mutable_enroll()->set_token(token);
    en.mutable_enroll()->set_agent_public_key(agent_key.public_key().hex());
    agent.call(en, "enroll");
    // The reader: an officer of the providing agency (the shipped policy's agency:own).
    v1::ApiRequest p;
    p.mutable_principal_add()->set_role("agency");
    p.mutable_principal_add()->set_public_key(user_key.public_key().hex());
    p.mutable_principal_add()->set_agency("sjz-gongan");
    p.mutable_principal_add()->set_name("bench reader");
    op.call(p, "principal add");
  }
  Api user(ctx, user_key, d.public_key(), d.api_endpoint());
  auto ingest = std::move(*wire::ClientChannel::create(ctx, agent_key, d.public_key()));
  must(ingest.connect(d.ingest_endpoint()), "ingest connect");

  const size_t batch = 1000, window = 8;
  uint64_t filled = 0, next_seq = 1;
  std::mt19937_64 rng(20261207);
  std::vector<Step> steps;
  std::string stopped_by = "records";
  const std::string data_mdb = state + "/store/data.mdb";

  std::vector<uint64_t> targets;
  for (uint64_t t = opt.first, k = 0; t <= opt.records; ++k) {
    targets.push_back(t);
    t = (k % 2 == 0) ? t * 3 : t / 3 * 10;  // 1, 3, 10, 30, ...
  }
  if (targets.empty() || targets.back() != opt.records) targets.push_back(opt.records);
  if (opt.backup_default)
    for (auto t : targets)
      if (power_of_ten(t) || t == targets.back()) opt.backup_at.insert(t);

  if (!opt.json)
    std::printf(
        "bench_scale: one gongshud store filled with 512-byte records (in-process daemon and "
        "agent,\nreal sockets, everything on); lookups and queries through the api as an "
        "agency officer\n%12s %10s %9s %9s %9s %9s %8s %8s %8s %8s %8s %8s\n",
        "records", "ingest/s", "lookup50", "lookup99", "query50", "query99", "B/rec", "free GB",
        "backup s", "restore", "export", "verify");
  for (uint64_t target : targets) {
    // Disk: the step's new records, and at a backup step the staged copy, the downloaded file
    // and the restored store (each about the store's size), must leave min_free_gb free.
    const double per_record =
        filled ? double(file_size(data_mdb).allocated) / double(filled) : 2048.0;
    const double store_after = per_record * double(target);
    double need = per_record * double(target - filled);
    if (opt.backup_at.count(target)) need += 3 * store_after;
    if (free_bytes(dir) - need < opt.min_free_gb * 1e9) {
      stopped_by = "disk";
      std::fprintf(stderr,
                   "bench_scale: stopping before %llu records: it needs ~%.1f GB, %.1f GB free, "
                   "%.0f GB to keep\n",
                   (unsigned long long)target, need / 1e9, free_bytes(dir) / 1e9, opt.min_free_gb);
      break;
    }
    Step s;
    // Fill.
    {
      const uint64_t n = target - filled;
      Sealer sealer(agent_key, d.public_key(), filled, n, batch, next_seq);
      const uint64_t batches = (n + batch - 1) / batch;
      uint64_t sent = 0, acked = 0, stored = 0;
      size_t in_flight = 0;
      auto t0 = Steady::now(), last_progress = t0;
      while (acked < batches) {
        while (sent < batches && in_flight < window) {
          auto [seq, bytes] = sealer.next();
          must(ingest.send(bytes), "ingest send");
          ++sent;
          ++in_flight;
        }
        auto got = ingest.receive(std::chrono::milliseconds(100));
        if (!got || !*got) continue;
        auto ack = wire::decode_as<v1::BatchAck>(**got, 64 << 20);
        if (!ack || ack->error() != v1::BATCH_OK)
          die("batch refused: " + (ack ? ack->error_message() : std::string("?")));
        stored += ack->accepted();
        ++acked;
        --in_flight;
        if (secs(Steady::now() - last_progress) >= 10) {
          last_progress = Steady::now();
          std::fprintf(stderr, "  ... %llu records stored, %.0f records/s this step\n",
                       (unsigned long long)(filled + stored),
                       double(stored) / secs(last_progress - t0));
        }
      }
      s.ingest_s = secs(Steady::now() - t0);
      s.ingest_rps = double(stored) / s.ingest_s;
      next_seq += batches;
      filled += stored;
      if (stored != n) die("stored " + std::to_string(stored) + " of " + std::to_string(n));
    }
    s.records = filled;
    // Reads through the api.
    {
      std::uniform_int_distribution<uint64_t> pick(0, filled - 1);
      std::vector<double> lk, q;
      for (int i = 0; i < opt.samples; ++i) {
        uint64_t r = pick(rng);
        v1::ApiRequest req;
        req.mutable_lookup()->set_subject_id(citizen(r / kPerSubject));
        req.mutable_lookup()->set_purpose("research");
        auto t0 = Steady::now();
        auto resp = user.call(req, "lookup");
        lk.push_back(secs(Steady::now() - t0) * 1000);
        if (resp.lookup().datasets_size() != 1 || resp.lookup().datasets(0).rows_size() == 0)
          die("lookup of " + citizen(r / kPerSubject) +
              " found no rows: " + resp.lookup().ShortDebugString());
        v1::ApiRequest qr;
        qr.mutable_query()->set_dataset("population.household");
        qr.mutable_query()->set_record_key(record_key(r));
        qr.mutable_query()->set_purpose("research");
        t0 = Steady::now();
        auto qresp = user.call(qr, "query");
        q.push_back(secs(Steady::now() - t0) * 1000);
        if (qresp.query().rows_size() != 1) die("query of " + record_key(r) + " found no row");
      }
      s.lookup_ms = percentiles(lk);
      s.query_ms = percentiles(q);
    }
    s.store = file_size(data_mdb);
    // Backup, restore, audit verify.
    if (opt.backup_at.count(target)) {
      s.backed_up = true;
      const std::string file = dir + "/backup.gsb";
      auto t0 = Steady::now();
      std::string id;
      bool first = true;
      s.backup_bytes = download(file, [&](uint64_t offset) {
        v1::ApiRequest req;
        req.mutable_backup()->set_offset(offset);
        req.mutable_backup()->set_backup_id(id);
        auto resp = op.call(req, "backup");
        if (first) s.backup_first_chunk_s = secs(Steady::now() - t0);
        first = false;
        id = resp.backup().backup_id();
        return std::pair{resp.backup().data(), resp.backup().last()};
      });
      s.backup_s = secs(Steady::now() - t0);
      // Restore into a fresh state directory holding the keys, as an operator prepares one.
      const std::string target_state = dir + "/restored";
      fs::create_directories(target_state);
      fs::permissions(target_state, fs::perms::owner_all);
      for (const char* f : {"daemon.key", "master.key"})
        fs::copy_file(state + "/" + f, target_state + "/" + f);
      if (fs::exists(state + "/keyring"))
        fs::copy(state + "/keyring", target_state + "/keyring", fs::copy_options::recursive);
      daemon::RestoreOptions ro;
      ro.from = file;
      ro.state_dir = target_state;
      t0 = Steady::now();
      auto restored = daemon::restore_backup(ro, SystemClock::instance());
      s.restore_s = secs(Steady::now() - t0);
      if (!restored) die("restore: " + restored.error().message());
      s.restore_verified = restored->verified_entries;
      fs::remove_all(target_state);
      fs::remove(file);
      // The whole audit log: export over the api, then verify.
      const std::string log = dir + "/audit.export";
      t0 = Steady::now();
      v1::ApiRequest head;
      head.mutable_audit_checkpoint();
      auto note = audit::parse_checkpoint_note_unverified(
          op.call(head, "audit head").audit_head().checkpoint());
      if (!note) die("audit head: " + note.error().message());
      download(log, [&](uint64_t offset) {
        v1::ApiRequest req;
        req.mutable_audit_export()->set_from_seq(1);
        req.mutable_audit_export()->set_to_seq(note->size);
        req.mutable_audit_export()->set_offset(offset);
        auto resp = op.call(req, "audit export");
        s.audit_entries = resp.audit_export().total_entries();
        return std::pair{resp.audit_export().data(), resp.audit_export().last()};
      });
      s.export_s = secs(Steady::now() - t0);
      audit::VerifyOptions vo;
      vo.key = d.public_key();
      t0 = Steady::now();
      auto report = audit::verify_export(log, vo);
      s.verify_s = secs(Steady::now() - t0);
      if (report.status != audit::VerifyStatus::kOk || !report.full)
        die("audit verify: the export does not verify");
      s.audit_entries = report.entries;
      fs::remove(log);
    }
    s.free_gb = free_bytes(dir) / 1e9;
    steps.push_back(s);
    if (!opt.json) {
      std::printf("%12llu %10.0f %9.2f %9.2f %9.2f %9.2f %8.0f %8.1f",
                  (unsigned long long)s.records, s.ingest_rps, s.lookup_ms.p50, s.lookup_ms.p99,
                  s.query_ms.p50, s.query_ms.p99, double(s.store.bytes) / double(s.records),
                  s.free_gb);
      if (s.backed_up)
        std::printf(" %8.1f %8.1f %8.2f %8.2f\n", s.backup_s, s.restore_s, s.export_s, s.verify_s);
      else
        std::printf(" %8s %8s %8s %8s\n", "-", "-", "-", "-");
      std::fflush(stdout);
    } else {
      std::fprintf(stderr, "  step %llu records done\n", (unsigned long long)s.records);
    }
  }
  d.stop();
  if (opt.json) {
    std::printf(
        "{\"record_bytes\":512,\"records_per_subject\":%llu,\"stopped_by\":\"%s\","
        "\"steps\":[",
        (unsigned long long)kPerSubject, stopped_by.c_str());
    for (size_t i = 0; i < steps.size(); ++i) {
      const Step& s = steps[i];
      std::printf(
          "%s{\"records\":%llu,\"ingest_records_per_s\":%.0f,\"ingest_s\":%.2f,"
          "\"lookup_p50_ms\":%.3f,\"lookup_p99_ms\":%.3f,\"query_p50_ms\":%.3f,"
          "\"query_p99_ms\":%.3f,\"store_bytes\":%llu,\"store_allocated_bytes\":%llu,"
          "\"store_bytes_per_record\":%.1f,\"free_gb\":%.1f",
          i ? "," : "", (unsigned long long)s.records, s.ingest_rps, s.ingest_s, s.lookup_ms.p50,
          s.lookup_ms.p99, s.query_ms.p50, s.query_ms.p99, (unsigned long long)s.store.bytes,
          (unsigned long long)s.store.allocated, double(s.store.bytes) / double(s.records),
          s.free_gb);
      if (s.backed_up)
        std::printf(
            ",\"backup_s\":%.2f,\"backup_first_chunk_s\":%.2f,\"backup_bytes\":%llu,"
            "\"restore_s\":%.2f,\"restore_verified_entries\":%llu,"
            "\"audit_export_s\":%.2f,\"audit_verify_s\":%.3f,\"audit_entries\":%llu",
            s.backup_s, s.backup_first_chunk_s, (unsigned long long)s.backup_bytes, s.restore_s,
            (unsigned long long)s.restore_verified, s.export_s, s.verify_s,
            (unsigned long long)s.audit_entries);
      std::printf("}");
    }
    std::printf("]}\n");
  } else {
    std::printf("stopped by: %s%s\n", stopped_by.c_str(),
                stopped_by == "disk" ? " (the next step would leave under --min-free-gb)" : "");
  }
  fs::remove_all(dir);
  return 0;
}
