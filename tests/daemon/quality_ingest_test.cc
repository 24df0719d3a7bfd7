// Quality rules at the daemon: a batch built by hand, past any agent, with a record that
// breaks a rule of the shipped catalog (population.household: household_size 1..99) has that
// record refused at ingest with the reason, and the rest stored; likewise a pattern rule
// (credit.penalty's decision number).
#include <catch2/catch.hpp>
#include <map>

#include "core/catalog/dataset.h"
#include "core/util/fd.h"
#include "tests/daemon/daemon_fixture.h"

namespace gongshu::daemon {
namespace {
using namespace testing;

// Of three records sent, the middle one is refused by a quality rule on `field` with `reason`;
// the other two are stored.
template <class Ack>
void check_middle_refused(const Ack& ack, const std::string& field, const std::string& reason) {
  REQUIRE(ack);
  REQUIRE(ack->error() == v1::BATCH_OK);
  CHECK(ack->accepted() == 2);
  REQUIRE(ack->statuses_size() == 1);
  const v1::RecordStatus& s = ack->statuses(0);
  CHECK(s.index() == 1);
  CHECK(s.code() == v1::RECORD_STATUS_QUALITY);
  CHECK(s.field() == field);
  CHECK(s.reason() == reason);
}

TEST_CASE("the daemon refuses a record breaking a quality rule, alone and with the reason") {
  DaemonFixture f;
  f.add_examples();
  auto key = f.enroll("sjz-gongan");
  TestAgent agent(f.ctx, key, f.daemon->public_key(), f.daemon->ingest_endpoint(), "sjz-gongan");
  std::vector<v1::Record> records;
  for (int i = 0; i < 3; ++i)
    records.push_back(household("hh-q" + std::to_string(i), citizen_id(700 + i), "张三"));
  // household() sets household_size 3; the middle record says 0, the last 99 (the bound).
  records[1].mutable_fields(2)->mutable_value()->set_integer(0);
  records[2].mutable_fields(2)->mutable_value()->set_integer(99);
  agent.send(1, records);
  check_middle_refused(
      agent.ack(), "household_size",
      "record 'hh-q1': field 'household_size': range rule: 0 is below the minimum 1");
}

TEST_CASE("the daemon refuses a record breaking a pattern rule (RE2), past any agent") {
  DaemonFixture f;
  f.add_examples();
  // The shipped credit.penalty entry: decision_no has a pattern rule (石市监罚〔2026〕12号).
  const std::string path =
      std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/credit_penalty.toml";
  auto text = read_file(path, 1 << 20);
  REQUIRE(text);
  auto entry = catalog::parse_dataset_toml(as_chars(*text), path);
  REQUIRE(entry);
  v1::ApiRequest add;
  *add.mutable_catalog_add()->mutable_entry() = *entry;
  REQUIRE(f.op->call(add).error().code() == v1::API_OK);
  auto key = f.enroll("sjz-shichang");
  TestAgent agent(f.ctx, key, f.daemon->public_key(), f.daemon->ingest_endpoint(), "sjz-shichang");
  auto penalty = [](const std::string& k, const std::string& decision) {
    v1::Record r;
    r.set_dataset("credit.penalty");
    r.set_record_key(k);
    r.set_subject_id("91350100M000100Y43");
    auto* x = r.add_fields();
    x->set_name("credit_code");
    x->mutable_value()->set_text("91350100M000100Y43");
    x = r.add_fields();
    x->set_name("decision_no");
    x->mutable_value()->set_text(decision);
    return r;
  };
  agent.send(1, {penalty("pen-1", "石市监罚〔2026〕12号"), penalty("pen-2", "石市监罚2026-12"),
                 penalty("pen-3", "冀石市监罚字[2025]第3号")});
  check_middle_refused(agent.ack(), "decision_no",
                       "record 'pen-2': field 'decision_no': pattern rule: '石市监罚2026-12' does "
                       "not match the pattern '" +
                           entry->fields(1).quality().pattern() + "'");
}

}  // namespace
}  // namespace gongshu::daemon
