// gongshuctl objection and consent, driven through the real binary against an in-process
// gongshud with a fake clock (tests/daemon/daemon_fixture.h): a desk files, the provider verifies
// and answers, the deadline passes for another (objection list --overdue), query shows the
// disputed mark, and a consent is granted, used by the applicant's query and revoked.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/policy/calendar.h"
#include "tests/daemon/daemon_fixture.h"

namespace gongshu::ctl {
namespace {

using daemon::testing::citizen_id;
using daemon::testing::DaemonFixture;
using daemon::testing::FixtureOptions;
using daemon::testing::TestAgent;
using gongshu::testing::RunResult;
using nlohmann::json;

const std::string kCtl = gongshu::testing::binary_path("bin/gongshuctl");
constexpr int64_t kHourMs = 3'600'000;

int64_t local(CivilDate d, int hour) {
  return policy::WorkCalendar::local_day_start_ms(d) + hour * kHourMs;
}

json parse(const RunResult& r) {
  INFO("exit " << r.exit_code << "\nstdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  try {
    return json::parse(r.out);
  } catch (const json::exception& e) {
    FAIL("--json output does not parse: " << e.what());
  }
  return {};
}

// An unconditionally open person dataset of sjz-gongan.
v1::DatasetEntry people() {
  v1::DatasetEntry e;
  e.set_id("test.people");
  e.set_name("测试人口");
  e.set_provider_agency("sjz-gongan");
  e.set_grade("general-3");
  e.set_open_attribute("unconditional");
  e.set_share_attribute("unconditional");
  e.set_update_frequency("daily");
  e.set_subject_kind("person");
  e.set_category("population");
  for (auto [name, pii] : {std::pair{"citizen_id", v1::PII_CITIZEN_ID}, {"name", v1::PII_NAME}}) {
    auto* f = e.add_fields();
    f->set_name(name);
    f->set_type(v1::FIELD_TYPE_TEXT);
    f->set_pii(pii);
    f->set_required(true);
  }
  return e;
}

v1::Record person(const std::string& key, int n, const std::string& name) {
  v1::Record r;
  r.set_dataset("test.people");
  r.set_record_key(key);
  r.set_subject_id(citizen_id(n));
  auto* a = r.add_fields();
  a->set_name("citizen_id");
  a->mutable_value()->set_text(citizen_id(n));
  auto* b = r.add_fields();
  b->set_name("name");
  b->mutable_value()->set_text(name);
  return r;
}

struct Platform {
  Platform() : clock(local({2026, 3, 2}, 10) * 1'000'000), f(options()) {
    f.add_agency("sjz-gongan", "石家庄市公安局");
    f.add_agency("sjz-minzheng", "石家庄市民政局");
    v1::ApiRequest req;
    *req.mutable_catalog_add()->mutable_entry() = people();
    REQUIRE(f.op->call(req).error().code() == v1::API_OK);
    auto agent_key = f.enroll("sjz-gongan");
    TestAgent agent(f.ctx, agent_key, f.daemon->public_key(), f.daemon->ingest_endpoint(),
                    "sjz-gongan");
    agent.send(1, {person("p-1", 1, "张三"), person("p-2", 2, "李四")});
    auto ack = agent.ack();
    REQUIRE(ack);
    REQUIRE(ack->accepted() == 2);
    env = {{"GONGSHU_API", f.daemon->api_endpoint()},
           {"GONGSHU_DAEMON_KEY", f.daemon->public_key().hex()}};
  }
  FixtureOptions options() {
    FixtureOptions o;
    o.clock = &clock;
    return o;
  }
  RunResult ctl(const std::string& key, std::vector<std::string> args) {
    args.insert(args.begin(), kCtl);
    auto e = env;
    e["GONGSHU_KEY"] = key;
    return gongshu::testing::run_process(args, "", e);
  }
  // A key made by `gongshuctl keygen` and registered with `principal add`; returns its path and
  // key id.
  std::pair<std::string, std::string> principal(const std::string& role,
                                                const std::string& agency) {
    std::string path = f.dir.file(role + "-" + agency + ".key");
    auto k = parse(
        gongshu::testing::run_process({kCtl, "keygen", "--kind", role, "--out", path, "--json"}));
    std::vector<std::string> args = {"principal",        "add",   "--role", role, "--public-key",
                                     k.at("public_key"), "--json"};
    if (!agency.empty()) args.insert(args.end(), {"--agency", agency});
    auto j = parse(ctl(f.operator_key_path, args));
    return {path, j.at("key_id")};
  }

  FakeClock clock;
  DaemonFixture f;
  std::map<std::string, std::string> env;
};

TEST_CASE("gongshuctl objection: file, verify, answer, overdue, disputed reads") {
  Platform p;
  const auto [desk, desk_id] = p.principal("agency", "sjz-minzheng");
  const auto [gongan, gongan_id] = p.principal("agency", "sjz-gongan");

  auto usage = p.ctl(
      desk, {"objection", "file", "--dataset", "test.people", "--reason", "x", "--contact", "y"});
  CHECK(usage.exit_code == 2);
  CHECK(usage.err.find("--record") != std::string::npos);

  auto a = parse(p.ctl(desk, {"objection", "file", "--dataset", "test.people", "--record", "p-1",
                              "--reason", "姓名错误", "--contact", "窗口回电", "--json"}));
  CHECK(a.at("state") == "filed");
  CHECK(a.at("assigned_agency") == "sjz-gongan");
  CHECK(a.at("deadline_ms") == policy::WorkCalendar::local_day_start_ms({2026, 3, 10}));
  const std::string id_a = a.at("id");
  auto b = parse(
      p.ctl(desk, {"objection", "file", "--dataset", "test.people", "--subject", citizen_id(2),
                   "--reason", "地址错误", "--contact", "窗口回电", "--json"}));
  const std::string id_b = b.at("id");
  CHECK(b.at("records") == json::array({"p-2"}));

  // The provider's read says the record is disputed, in JSON and in the table.
  auto q = parse(
      p.ctl(gongan, {"query", "test.people", "--record", "p-1", "--purpose", "核查", "--json"}));
  REQUIRE(q.at("rows").size() == 1);
  CHECK(q.at("rows")[0].at("disputed") == true);
  CHECK(q.at("rows")[0].at("objections") == json::array({id_a}));
  auto table = p.ctl(gongan, {"query", "test.people", "--purpose", "核查"});
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("DISPUTED 有异议") != std::string::npos);
  CHECK(table.out.find(id_a) != std::string::npos);

  // Answering before verifying is refused with the reason (exit 1).
  auto early = p.ctl(gongan, {"objection", "answer", id_a, "--upheld", "--note", "无误"});
  CHECK(early.exit_code == 1);
  CHECK(early.err.find("verif") != std::string::npos);
  CHECK(parse(p.ctl(gongan, {"objection", "verify", id_a, "--json"})).at("state") == "verifying");
  auto done = parse(p.ctl(
      gongan, {"objection", "answer", id_a, "--upheld", "--note", "经核对户籍档案无误", "--json"}));
  CHECK(done.at("state") == "upheld");
  CHECK(done.at("overdue") == false);
  CHECK(done.at("notification").get<std::string>().find("经核对户籍档案无误") != std::string::npos);
  auto shown = p.ctl(desk, {"objection", "show", id_a});
  REQUIRE(shown.exit_code == 0);
  CHECK(shown.out.find("notified:") != std::string::npos);

  // Past the deadline the open one is overdue, for the authority and the provider.
  CHECK(parse(p.ctl(p.f.operator_key_path, {"objection", "list", "--overdue", "--json"}))
            .at("objections")
            .empty());
  p.clock.set_ns(local({2026, 3, 10}, 9) * 1'000'000);
  auto overdue = parse(p.ctl(p.f.operator_key_path, {"objection", "list", "--overdue", "--json"}));
  REQUIRE(overdue.at("objections").size() == 1);
  CHECK(overdue.at("objections")[0].at("id") == id_b);
  auto listed = p.ctl(gongan, {"objection", "list", "--agency", "sjz-gongan"});
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.out.find(id_a) != std::string::npos);
  CHECK(listed.out.find("yes") != std::string::npos);
}

TEST_CASE("gongshuctl consent: grant, use, list, revoke") {
  Platform p;
  const auto [desk, desk_id] = p.principal("agency", "sjz-minzheng");
  const auto [applicant, applicant_id] = p.principal("applicant", "");
  auto query = [&] {
    return p.ctl(applicant, {"query", "test.people", "--subject", citizen_id(1), "--purpose",
                             "贷款审核", "--json"});
  };
  CHECK(query().exit_code == 1);

  auto k = parse(p.ctl(desk, {"consent", "grant", "--subject", citizen_id(1), "--applicant",
                              applicant_id, "--dataset", "test.people", "--purpose", "贷款审核",
                              "--until", "2026-06-01", "--evidence", "同意书 MZ-0301", "--json"}));
  CHECK(k.at("status") == "active");
  CHECK(k.at("applicant") == applicant_id);
  const std::string id = k.at("id");

  auto rows = parse(query());
  CHECK(rows.at("decision").at("rule") == "consent-subject-unconditional");
  REQUIRE(rows.at("rows").size() == 1);
  CHECK(rows.at("rows")[0].at("fields").at("name") == "张三");

  auto listed = parse(p.ctl(applicant, {"consent", "list", "--json"}));
  REQUIRE(listed.at("consents").size() == 1);
  CHECK(listed.at("consents")[0].at("id") == id);

  auto revoked = parse(p.ctl(desk, {"consent", "revoke", id, "--reason", "本人撤回", "--json"}));
  CHECK(revoked.at("status") == "revoked");
  auto after = query();
  CHECK(after.exit_code == 1);
  CHECK(after.err.find("consent") != std::string::npos);
}

}  // namespace
}  // namespace gongshu::ctl
