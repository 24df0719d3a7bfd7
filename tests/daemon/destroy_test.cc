// daemon/destroy.h through a real gongshud and the real gongshuctl / gongshud restore: a dataset
// destroyed under dual control is unreadable, reads say when and by whose decision, the audit log
// records who, when, the key and the count, and a backup taken before no longer opens that
// dataset (while it still opens the others).
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "core/crypto/key_file.h"
#include "core/crypto/keyed_hash.h"
#include "core/util/fd.h"
#include "daemon/daemon_store.h"
#include "tests/daemon/daemon_fixture.h"

namespace gongshu::daemon::testing {
namespace {

using gongshu::testing::binary_path;
using gongshu::testing::run_process;

v1::ApiResponse destroy(ApiClient& c, const std::string& dataset, const std::string& reason,
                        bool confirm = false, bool cancel = false) {
  v1::ApiRequest req;
  auto* d = req.mutable_dataset_destroy();
  d->set_dataset(dataset);
  d->set_reason(reason);
  d->set_confirm(confirm);
  d->set_cancel(cancel);
  return c.call(req);
}

v1::ApiResponse query(ApiClient& c) {
  v1::ApiRequest req;
  req.mutable_query()->set_dataset("population.household");
  req.mutable_query()->set_purpose("quality-check");
  return c.call(req);
}

std::string ref(const v1::AuditEntry& e, const std::string& kind) {
  for (const auto& r : e.refs()) {
    if (r.kind() == kind) return r.value();
  }
  return "";
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE(
    "destroying a dataset: dual control, reads refused with who and when, audited, and a "
    "backup taken before no longer opens it") {
  DaemonFixture f;
  f.add_examples();
  {
    auto key = f.enroll("sjz-gongan");
    TestAgent agent(f.ctx, key, f.daemon->public_key(), f.daemon->ingest_endpoint(), "sjz-gongan");
    agent.send(1, {household("h-1", citizen_id(1), "张三"), household("h-2", citizen_id(2), "李四"),
                   household("h-3", citizen_id(3), "王五")});
    auto ack = agent.ack();
    REQUIRE(ack);
    REQUIRE(ack->accepted() == 3);
  }
  REQUIRE(query(*f.op).query().rows_size() == 3);
  const std::string keyring = f.config.state_dir + "/keyring";
  CHECK(exists(keyring + "/population.household.share"));
  CHECK(exists(keyring + "/legal_person.registration.share"));

  // A backup before the destruction, through the real gongshuctl.
  const std::map<std::string, std::string> env = {
      {"GONGSHU_API", f.daemon->api_endpoint()},
      {"GONGSHU_DAEMON_KEY", f.daemon->public_key().hex()},
      {"GONGSHU_KEY", f.operator_key_path}};
  const std::string before = f.dir.file("before.gsb");
  auto made =
      run_process({binary_path("bin/gongshuctl"), "backup", "create", "--out", before}, "", env);
  INFO(made.err);
  REQUIRE(made.exit_code == 0);

  auto officer_key = f.add_principal("officer");
  auto officer = f.client(officer_key);
  const std::string op_id = f.operator_key->public_key().key_id();

  // Only operators request, with a reason; a pending request is not requested twice.
  CHECK(destroy(*officer, "population.household", "x").error().code() == v1::API_DENIED);
  CHECK(destroy(*f.op, "population.household", "").error().code() == v1::API_BAD_REQUEST);
  CHECK(destroy(*f.op, "no.such", "x").error().code() == v1::API_NOT_FOUND);
  const std::string reason = "市数据局决定 2026-12 号：保存期限届满 / retention period ended";
  auto requested = destroy(*f.op, "population.household", reason);
  INFO(requested.error().message());
  REQUIRE(requested.error().code() == v1::API_OK);
  const auto& d = requested.destruction();
  CHECK(d.state() == "pending");
  CHECK(d.requested_by() == op_id);
  CHECK(d.versions() == 3);
  CHECK(d.key_id().size() == 16);
  const std::string key_id = d.key_id();
  CHECK(destroy(*f.op, "population.household", reason).error().code() == v1::API_CONFLICT);
  REQUIRE(query(*f.op).query().rows_size() == 3);  // nothing happens before confirmation

  // The requester cannot confirm; another principal (an officer) can.
  auto self = destroy(*f.op, "population.household", "", true);
  CHECK(self.error().code() == v1::API_DENIED);
  CHECK(self.error().message().find("dual control") != std::string::npos);
  auto confirmed = destroy(*officer, "population.household", "", true);
  INFO(confirmed.error().message());
  REQUIRE(confirmed.error().code() == v1::API_OK);
  CHECK(confirmed.destruction().state() == "destroyed");
  CHECK(confirmed.destruction().confirmed_by() == officer_key.public_key().key_id());
  CHECK(confirmed.destruction().key_id() == key_id);
  CHECK(!exists(keyring + "/population.household.share"));
  CHECK(exists(keyring + "/legal_person.registration.share"));

  // Reads answer that it was destroyed, when and by whose decision.
  auto read = query(*f.op);
  CHECK(read.error().code() != v1::API_OK);
  CHECK(read.error().message().find("was destroyed at") != std::string::npos);
  CHECK(read.error().message().find(officer_key.public_key().key_id()) != std::string::npos);
  CHECK(read.error().message().find(op_id) != std::string::npos);
  CHECK(destroy(*f.op, "population.household", reason).error().code() == v1::API_CONFLICT);
  {
    v1::ApiRequest st;
    st.mutable_dataset_destroy_status()->set_dataset("population.household");
    CHECK(officer->call(st).destruction().state() == "destroyed");
  }

  // The audit log: requested and destroyed, with the key and the count; the refused
  // self-confirmation too.
  bool req_seen = false, done_seen = false, refused_seen = false;
  for (const auto& e : f.audit_entries()) {
    if (e.action() == "dataset_destroy_requested") {
      req_seen = true;
      CHECK(e.principal().key_id() == op_id);
      CHECK(ref(e, "key") == key_id);
      CHECK(e.record_count() == 3);
      CHECK(e.dataset() == "population.household");
    } else if (e.action() == "dataset_destroyed") {
      done_seen = true;
      CHECK(e.principal().key_id() == officer_key.public_key().key_id());
      CHECK(ref(e, "key") == key_id);
      CHECK(ref(e, "requested_by") == op_id);
      CHECK(e.record_count() == 3);
    } else if (e.action() == "dataset_destroy_confirm" && e.decision() == v1::DECISION_DENY) {
      refused_seen = true;
    }
  }
  CHECK(req_seen);
  CHECK(done_seen);
  CHECK(refused_seen);

  // The backup taken before, restored with this daemon's keys and keyring: the destroyed
  // dataset stays unreadable, the other one opens.
  const std::string state = f.dir.file("restored");
  REQUIRE(::mkdir(state.c_str(), 0700) == 0);
  for (const char* file : {"daemon.key", "master.key"}) {
    auto bytes = read_file(f.config.state_dir + "/" + file, 1 << 16);
    REQUIRE(bytes);
    REQUIRE(write_new_file(state + "/" + file, *bytes, 0600));
  }
  std::filesystem::copy(keyring, state + "/keyring");
  auto restored_run =
      run_process({binary_path("bin/gongshud"), "restore", "--from", before, "--state", state});
  INFO(restored_run.err);
  REQUIRE(restored_run.exit_code == 0);
  CHECK(restored_run.out.find("dataset population.household cannot be read") != std::string::npos);
  CHECK(restored_run.out.find("legal_person.registration cannot") == std::string::npos);
  f.op.reset();
  f.daemon.reset();  // one environment per process at a time
  auto kf = crypto::load_key_file(state + "/daemon.key");
  REQUIRE(kf);
  auto master = crypto::load_secret_file(state + "/master.key", crypto::kDataKeySize);
  REQUIRE(master);
  StoreOptions so;
  so.state_dir = state;
  auto store = DaemonStore::open(so, kf->key, std::move(*master), SystemClock::instance());
  REQUIRE(store);
  auto txn = (*store)->env().begin_read();
  REQUIRE(txn);
  CHECK((*store)->db().records.count(*txn) >= 3);  // the records are there ...
  auto gone = (*store)->data_key(*txn, "population.household");
  REQUIRE(!gone);  // ... and cannot be read
  CHECK(gone.error().message().find("key share") != std::string::npos);
  CHECK((*store)->data_key(*txn, "legal_person.registration").has_value());
}

TEST_CASE("a destruction request expires if not confirmed within 24 hours; it can be withdrawn") {
  FakeClock clock(int64_t{1'772'503'200'000} * 1'000'000);
  FixtureOptions o;
  o.clock = &clock;
  DaemonFixture f(o);
  f.add_examples();
  auto officer = f.client(f.add_principal("officer"));
  auto op2 = f.client(f.add_principal("operator"));
  REQUIRE(destroy(*f.op, "legal_person.registration", "test").error().code() == v1::API_OK);
  clock.advance(std::chrono::hours(24) + std::chrono::seconds(1));
  auto late = destroy(*officer, "legal_person.registration", "", true);
  CHECK(late.error().code() == v1::API_CONFLICT);
  CHECK(late.error().message().find("expired") != std::string::npos);
  // Asked again, then withdrawn by another operator: nothing destroyed.
  REQUIRE(destroy(*f.op, "legal_person.registration", "again").error().code() == v1::API_OK);
  auto cancelled = destroy(*op2, "legal_person.registration", "", false, true);
  REQUIRE(cancelled.error().code() == v1::API_OK);
  CHECK(cancelled.destruction().state() == "cancelled");
  CHECK(destroy(*officer, "legal_person.registration", "", true).error().code() ==
        v1::API_NOT_FOUND);
  CHECK(exists(f.config.state_dir + "/keyring/legal_person.registration.share"));
}

}  // namespace gongshu::daemon::testing
