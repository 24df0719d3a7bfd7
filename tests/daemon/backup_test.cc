// Hot backup and restore (daemon/backup.h) and `gongshuctl status` (daemon/status.h), driven
// through the real binaries: gongshuctl against a real daemon receiving batches, gongshud
// restore into a fresh state directory, the restored store opened and its audit log verified.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/audit/export_log.h"
#include "core/audit/verify.h"
#include "core/crypto/key_file.h"
#include "core/crypto/keyed_hash.h"
#include "core/util/encoding.h"
#include "core/util/fd.h"
#include "core/wire/codec.h"
#include "daemon/api_context.h"
#include "daemon/backup.h"
#include "daemon/stored.pb.h"
#include "tests/daemon/daemon_fixture.h"

namespace gongshu::daemon::testing {
namespace {

using gongshu::testing::binary_path;
using gongshu::testing::run_process;
using gongshu::testing::RunResult;
using gongshu::testing::wait_until;

std::vector<std::string> ctl(const DaemonFixture& fx, const std::string& key_path,
                             std::vector<std::string> args) {
  std::vector<std::string> argv = {binary_path("bin/gongshuctl")};
  argv.insert(argv.end(), args.begin(), args.end());
  for (const std::string& a :
       std::vector<std::string>{"--api", fx.daemon->api_endpoint(), "--daemon-key",
                                fx.daemon->public_key().hex(), "--key", key_path}) {
    argv.push_back(a);
  }
  return argv;
}

RunResult backup_create(const DaemonFixture& fx, const std::string& out) {
  return run_process(ctl(fx, fx.operator_key_path, {"backup", "create", "--out", out}));
}

// A state directory holding copies of the fixture daemon's key files and keyring of dataset key
// shares (as an operator restores them from their own safe place: keys are not in a backup).
std::string state_with_keys(const DaemonFixture& fx, const std::string& name) {
  std::string dir = fx.dir.file(name);
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  for (const char* f : {"daemon.key", "master.key"}) {
    auto bytes = read_file(fx.config.state_dir + "/" + f, 1 << 16);
    REQUIRE(bytes);
    REQUIRE(write_new_file(dir + "/" + f, *bytes, 0600));
  }
  std::filesystem::copy(fx.config.state_dir + "/keyring", dir + "/keyring");
  return dir;
}

RunResult restore(const std::string& from, const std::string& state,
                  std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {
      binary_path("bin/gongshud"), "restore", "--from", from, "--state", state};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run_process(argv);
}

bool has_leftovers(const std::string& state) {
  for (const auto& e : std::filesystem::directory_iterator(state)) {
    std::string name = e.path().filename().string();
    if (name == "store" || name.rfind(".restore-", 0) == 0) return true;
  }
  return false;
}

void flip_byte(const std::string& path, uint64_t offset) {
  auto fd = Fd::open(path, O_RDWR);
  REQUIRE(fd);
  uint8_t b = 0;
  REQUIRE(::pread(fd->get(), &b, 1, off_t(offset)) == 1);
  b ^= 0x01;
  REQUIRE(::pwrite(fd->get(), &b, 1, off_t(offset)) == 1);
}

struct Acked {
  uint64_t seq = 0;
  uint64_t audit_seq = 0;  // the receipt's: where the batch's ingest entry is in the log
  std::vector<std::string> keys;
};

}  // namespace

TEST_CASE(
    "backup under concurrent ingest: the restored store verifies and holds every record "
    "acknowledged before the backup's tree size") {
  DaemonFixture fx;
  fx.add_examples();
  auto key = fx.enroll("sjz-gongan");
  TestAgent agent(fx.ctx, key, fx.daemon->public_key(), fx.daemon->ingest_endpoint(), "sjz-gongan");

  // The ingest thread sends a batch, waits for its ack, and goes on until told to stop. It uses
  // no Catch2 assertions (not thread-safe); failures are collected and checked afterwards.
  std::mutex mu;
  std::vector<Acked> acked;
  std::string thread_error;
  std::atomic<bool> stop{false};
  std::thread ingest([&] {
    for (uint64_t seq = 1; !stop.load(); ++seq) {
      std::vector<std::string> bytes;
      Acked a;
      a.seq = seq;
      for (int i = 0; i < 20; ++i) {
        std::string k = "b" + std::to_string(seq) + "-" + std::to_string(i);
        bytes.push_back(
            household(k, citizen_id(int(seq * 20 + i) % 1000), "张三").SerializeAsString());
        a.keys.push_back(k);
      }
      v1::BatchHeader h;
      h.set_agency("sjz-gongan");
      h.set_batch_seq(seq);
      h.set_created_at_ms(SystemClock::instance().now_ms());
      auto sealed = batch::seal_batch(key, fx.daemon->public_key(), h, bytes);
      Result<Bytes> frame = fail(ErrorCode::kInternal, "not sealed");
      if (sealed) frame = wire::encode(*sealed);
      if (!frame || !agent.channel().send(*frame)) {
        std::lock_guard lock(mu);
        thread_error = "could not send batch " + std::to_string(seq);
        return;
      }
      auto got = agent.channel().receive(std::chrono::seconds(20));
      std::optional<v1::BatchAck> ack;
      if (got && *got) {
        if (auto d = wire::decode_as<v1::BatchAck>(**got, 64 << 20)) ack = *d;
      }
      std::lock_guard lock(mu);
      if (!ack || ack->error() != v1::BATCH_OK || ack->accepted() != 20) {
        thread_error = "batch " + std::to_string(seq) + " was not acknowledged whole";
        return;
      }
      a.audit_seq = ack->receipt().seq();
      acked.push_back(std::move(a));
    }
  });
  auto acked_count = [&] {
    std::lock_guard lock(mu);
    return acked.size();
  };
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Joiner() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } joiner{stop, ingest};

  REQUIRE(wait_until([&] { return acked_count() >= 10; }));
  std::string file = fx.dir.file("hot.gsb");
  size_t before = acked_count();
  auto t0 = std::chrono::steady_clock::now();
  RunResult made = backup_create(fx, file);
  auto backup_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  size_t during = acked_count() - before;
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  // Ingest went on after the backup: some batches are acknowledged that it cannot hold.
  size_t after_backup = acked_count();
  REQUIRE(wait_until([&] { return acked_count() >= after_backup + 5; }));
  stop = true;
  ingest.join();
  {
    std::lock_guard lock(mu);
    INFO(thread_error);
    REQUIRE(thread_error.empty());
  }
  WARN("gongshuctl backup create took " << backup_ms << " ms; " << during
                                        << " batches were acknowledged meanwhile");

  struct stat st;
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(::access((file + ".partial").c_str(), F_OK) != 0);
  auto header = read_backup_header(file);
  REQUIRE(header);
  const BackupManifest& m = header->manifest;
  CHECK(m.origin == "gongshu.test/audit");
  CHECK(m.daemon_key == fx.daemon->public_key());
  // The daemon removed its staging copy and staged file.
  CHECK(std::filesystem::is_empty(fx.config.state_dir + "/backups"));

  // The backup is in the live log, by the operator, naming the manifest's head.
  bool audited = false;
  for (const auto& e : fx.audit_entries()) {
    if (e.action() != "backup") continue;
    audited = true;
    CHECK(e.principal().key_id() == fx.operator_key->public_key().key_id());
    CHECK(e.principal().role() == "operator");
    bool names_size = false;
    for (const auto& r : e.refs())
      names_size |= r.kind() == "tree_size" && r.value() == std::to_string(m.tree_size);
    CHECK(names_size);
  }
  CHECK(audited);

  std::string state = state_with_keys(fx, "restored");
  t0 = std::chrono::steady_clock::now();
  RunResult r = restore(file, state);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  WARN("gongshud restore of " << st.st_size << " bytes (" << header->manifest.tree_size
                              << " audit entries) took "
                              << std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - t0)
                                     .count()
                              << " ms");

  // Open the restored store as a daemon would, and check it against what was acknowledged.
  auto kf = crypto::load_key_file(state + "/daemon.key");
  REQUIRE(kf);
  auto master = crypto::load_secret_file(state + "/master.key", crypto::kDataKeySize);
  REQUIRE(master);
  StoreOptions so;
  so.state_dir = state;
  auto restored = DaemonStore::open(so, kf->key, std::move(*master), SystemClock::instance());
  REQUIRE(restored);
  DaemonStore& s = **restored;
  auto txn = s.env().begin_read();
  REQUIRE(txn);
  audit::TreeHead head = s.audit().head(*txn);
  CHECK(head.size == m.tree_size + 1);  // the restore entry
  CHECK(s.audit().root_at(*txn, m.tree_size) == m.root);
  v1::AuditEntry last;
  REQUIRE(parse_value(*s.audit().entry(*txn, head.size), last));
  CHECK(last.action() == "restore");
  CHECK(head.checkpoint_size == head.size);

  size_t held = 0, after = 0;
  for (const Acked& a : acked) {
    bool has_batch =
        s.db().batches.get(*txn, batch_key_of(key.public_key().key_id(), a.seq)).has_value();
    if (a.audit_seq <= m.tree_size) {
      INFO("batch " << a.seq << " (audit entry " << a.audit_seq << ")");
      CHECK(has_batch);
      for (const auto& k : a.keys)
        CHECK(s.db().records.get(*txn, record_key_of("population.household", k)).has_value());
      ++held;
    } else {
      CHECK_FALSE(has_batch);  // a snapshot: nothing committed after the copy
      ++after;
    }
  }
  CHECK(held >= 10);
  CHECK(after >= 5);

  // The restored log verifies offline as a whole, restore entry included.
  std::string exported = fx.dir.file("restored.gsa");
  REQUIRE(audit::export_log(s.audit(), *txn, 1, head.size, exported));
  audit::VerifyOptions vo;
  vo.key = fx.daemon->public_key();
  auto report = audit::verify_export(exported, vo);
  INFO(report.reason);
  CHECK(report.status == audit::VerifyStatus::kOk);
  CHECK(report.tree_size == head.size);
}

TEST_CASE("restore --replica re-seeds a replica: verified, and the store stays the primary's") {
  DaemonFixture fx;
  fx.add_examples();
  std::string file = fx.dir.file("seed.gsb");
  RunResult made = backup_create(fx, file);
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  auto header = read_backup_header(file);
  REQUIRE(header);
  std::string state = state_with_keys(fx, "replica");
  RunResult r = restore(file, state, {"--replica"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("re-seeded") != std::string::npos);
  auto kf = crypto::load_key_file(state + "/daemon.key");
  REQUIRE(kf);
  auto master = crypto::load_secret_file(state + "/master.key", crypto::kDataKeySize);
  REQUIRE(master);
  StoreOptions so;
  so.state_dir = state;
  auto restored = DaemonStore::open(so, kf->key, std::move(*master), SystemClock::instance());
  REQUIRE(restored);
  auto txn = (*restored)->env().begin_read();
  REQUIRE(txn);
  audit::TreeHead head = (*restored)->audit().head(*txn);
  CHECK(head.size == header->manifest.tree_size);  // no restore entry: the primary's tree
  CHECK(head.root == header->manifest.root);
}

TEST_CASE("restore refuses a damaged or foreign backup and says why") {
  DaemonFixture fx;
  fx.add_examples();
  std::string file = fx.dir.file("good.gsb");
  REQUIRE(backup_create(fx, file).exit_code == 0);
  auto header = read_backup_header(file);
  REQUIRE(header);
  std::string good = gongshu::testing::read_text(file);

  int states = 0;
  auto refused = [&](const std::string& path, const std::string& why,
                     std::vector<std::string> extra = {}) {
    std::string state = state_with_keys(fx, "s" + std::to_string(++states));
    RunResult r = restore(path, state, extra);
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find(why) != std::string::npos);
    CHECK_FALSE(has_leftovers(state));
  };

  SECTION("a flipped byte in the data") {
    std::string bad = fx.dir.file("data-flip.gsb");
    gongshu::testing::write_text(bad, good);
    flip_byte(bad, header->data_offset + header->manifest.data_length / 2);
    refused(bad, "SHA-256 does not match");
  }
  SECTION("a flipped byte in the manifest") {
    std::string bad = fx.dir.file("manifest-flip.gsb");
    std::string text = good;
    auto pos = text.find("created_at_ms ") + 14;
    text[pos] = text[pos] == '9' ? '8' : char(text[pos] + 1);
    gongshu::testing::write_text(bad, text);
    refused(bad, "signature does not verify");
  }
  SECTION("a manifest signed by another key") {
    auto other = crypto::IdentityKey::generate();
    // Same manifest, another key's signature.
    std::string resigned = std::string(kBackupMagic) + header->signed_text + "signature " +
                           base64_encode(other.sign(kBackupDomain, as_bytes(header->signed_text))) +
                           "\n" + good.substr(header->data_offset);
    std::string bad = fx.dir.file("resigned.gsb");
    gongshu::testing::write_text(bad, resigned);
    refused(bad, "signature does not verify");
    // A manifest that names the other key and is signed by it: not the trusted key.
    BackupManifest m = header->manifest;
    m.daemon_key = other.public_key();
    std::string text = manifest_text(m);
    std::string forged = std::string(kBackupMagic) + text + "signature " +
                         base64_encode(other.sign(kBackupDomain, as_bytes(text))) + "\n" +
                         good.substr(header->data_offset);
    std::string bad2 = fx.dir.file("forged.gsb");
    gongshu::testing::write_text(bad2, forged);
    refused(bad2, "not the trusted key");
    // Trusting the other key explicitly still cannot restore it over this daemon's keys.
    refused(bad2, "is not the key of the daemon that made the backup",
            {"--daemon-key", other.public_key().hex()});
  }
  SECTION("a truncated file") {
    std::string bad = fx.dir.file("short.gsb");
    gongshu::testing::write_text(bad, good.substr(0, good.size() - 4096));
    refused(bad, "truncated");
    gongshu::testing::write_text(bad, good.substr(0, 40));
    refused(bad, "not a valid backup");
  }
  SECTION("the wrong master key") {
    std::string state = state_with_keys(fx, "wrong-master");
    std::string other_master = fx.dir.file("other-master.key");
    REQUIRE(crypto::create_secret_file(other_master, crypto::kDataKeySize));
    RunResult r = restore(file, state, {"--master-key", other_master});
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("does not open the restored data keys") != std::string::npos);
    CHECK_FALSE(has_leftovers(state));
  }
  SECTION("a state directory that already holds a store, and bad usage") {
    std::string state = state_with_keys(fx, "twice");
    REQUIRE(restore(file, state).exit_code == 0);
    RunResult again = restore(file, state);
    CHECK(again.exit_code == 1);
    CHECK(again.err.find("already holds a store") != std::string::npos);
    RunResult forced = restore(file, state, {"--force"});
    INFO(forced.err);
    CHECK(forced.exit_code == 0);
    CHECK(forced.out.find("replacing") != std::string::npos);
    CHECK(run_process({binary_path("bin/gongshud"), "restore", "--state", state}).exit_code == 2);
  }
}

TEST_CASE("backup is for operators; status for operators and officers") {
  DaemonFixture fx;
  fx.add_examples();
  auto officer = fx.add_principal("officer");
  auto agency_user = fx.add_principal("agency", "sjz-gongan");
  std::string officer_path = fx.dir.file("officer.key");
  std::string agency_path = fx.dir.file("agency.key");
  REQUIRE(crypto::save_key_file(officer_path, crypto::KeyKind::kOfficer, officer));
  REQUIRE(crypto::save_key_file(agency_path, crypto::KeyKind::kAgency, agency_user));

  RunResult denied =
      run_process(ctl(fx, officer_path, {"backup", "create", "--out", fx.dir.file("officer.gsb")}));
  CHECK(denied.exit_code == 1);
  CHECK(::access(fx.dir.file("officer.gsb").c_str(), F_OK) != 0);
  CHECK(::access(fx.dir.file("officer.gsb.partial").c_str(), F_OK) != 0);
  CHECK(run_process(ctl(fx, officer_path, {"status"})).exit_code == 0);
  CHECK(run_process(ctl(fx, agency_path, {"status"})).exit_code == 1);
}

TEST_CASE("gongshuctl status shows ingest, queues, the audit head, the store and agents") {
  DaemonFixture fx;
  fx.add_examples();
  auto key = fx.enroll("sjz-gongan");
  auto idle = fx.enroll("sjz-gongan");
  TestAgent agent(fx.ctx, key, fx.daemon->public_key(), fx.daemon->ingest_endpoint(), "sjz-gongan");
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    std::vector<v1::Record> records;
    for (int i = 0; i < 10; ++i)
      records.push_back(household("s" + std::to_string(seq) + "-" + std::to_string(i),
                                  citizen_id(int(seq) * 10 + i), "李四"));
    agent.send(seq, records);
    auto ack = agent.ack();
    REQUIRE(ack);
    REQUIRE(ack->accepted() == 10);
  }
  // A fourth batch reports the agent's backlog beside the sealed bytes, as gongshu-agent does.
  {
    std::vector<std::string> bytes = {
        household("s4-0", citizen_id(40), "王五").SerializeAsString()};
    v1::BatchHeader h;
    h.set_agency("sjz-gongan");
    h.set_batch_seq(4);
    h.set_created_at_ms(SystemClock::instance().now_ms());
    auto sealed = batch::seal_batch(key, fx.daemon->public_key(), h, bytes);
    REQUIRE(sealed);
    sealed->set_reported_backlog(42);
    agent.send_raw(*wire::encode(*sealed));
    auto ack = agent.ack();
    REQUIRE(ack);
    REQUIRE(ack->accepted() == 1);
  }

  RunResult r = run_process(ctl(fx, fx.operator_key_path, {"status", "--json"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["ingest"]["batches"] == 4);
  CHECK(j["ingest"]["records_accepted"] == 31);
  CHECK(j["ingest"]["records_last_minute"] == 31);
  CHECK(j["ingest"]["rate_last_minute"].get<double>() > 0);
  CHECK(j["queues"]["ingest_queue"] == 0);
  CHECK(j["queues"]["writer_backlog"] == 0);
  CHECK(j["policy_version"].is_string());
  CHECK(j["uptime_ms"].get<int64_t>() >= 0);
  uint64_t tree = j["audit"]["tree_size"];
  CHECK(tree >= 8);  // init, agencies, catalog, tokens, enrolments, batches
  CHECK(j["audit"]["checkpoint"]["tree_size"].get<uint64_t>() <= tree);
  CHECK(j["store"]["used_bytes"].get<uint64_t>() > 0);
  CHECK(j["store"]["free_map_bytes"].get<uint64_t>() + j["store"]["used_bytes"].get<uint64_t>() ==
        j["store"]["map_bytes"].get<uint64_t>());
  REQUIRE(j["agents"].size() == 2);
  bool saw_active = false, saw_idle = false;
  for (const auto& a : j["agents"]) {
    if (a["key_id"] == key.public_key().key_id()) {
      saw_active = true;
      CHECK(a["batches"] == 4);
      CHECK(a["reported_backlog"] == 42);
      CHECK(a["last_seen_ms"].get<int64_t>() > 0);
    } else if (a["key_id"] == idle.public_key().key_id()) {
      saw_idle = true;
      CHECK(a["reported_backlog"].is_null());
      CHECK(a["last_seen_ms"] == 0);
    }
  }
  CHECK(saw_active);
  CHECK(saw_idle);

  RunResult text = run_process(ctl(fx, fx.operator_key_path, {"status"}));
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("records/s over the last minute (31 records)") != std::string::npos);
  CHECK(text.out.find(key.public_key().key_id()) != std::string::npos);
  CHECK(text.out.find("REPORTED BACKLOG") != std::string::npos);
}

TEST_CASE("RateWindow counts the last minute only") {
  FakeClock clock(int64_t{1'700'000'000} * 1'000'000'000);
  RateWindow w(clock);
  w.add(5);
  clock.advance(std::chrono::seconds(30));
  w.add(7);
  CHECK(w.last_minute() == 12);
  clock.advance(std::chrono::seconds(31));
  CHECK(w.last_minute() == 7);
  clock.advance(std::chrono::seconds(29));
  w.add(1);
  CHECK(w.last_minute() == 1);
  clock.advance(std::chrono::hours(2));
  CHECK(w.last_minute() == 0);
}

}  // namespace gongshu::daemon::testing
