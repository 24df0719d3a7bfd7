// gongshuctl query | lookup | open-catalog | download | aggregate | agreement | principal,
// driven through the real binary against an in-process gongshud (tests/daemon/daemon_fixture.h)
// with the shipped policy (policies/policy): exit codes, tables, CSV, --json that parses, and
// every returned personal field masked as the decision's profile says.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/util/clock.h"
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

int64_t at(int y, unsigned m, unsigned d) { return days_from_civil({y, m, d}) * 86'400'000LL; }
// 2026-03-02T12:00:00+08:00; dates given to gongshuctl are midnight in China Standard Time.
const int64_t kStartMs = at(2026, 3, 2) + 4 * 3'600'000LL;
const int64_t kDayMs = 86'400'000LL;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// One person as delivered; household sizes are unique within a dataset of five, so anonymised
// rows (whose keys are tokens) can be matched to the person they came from.
struct Person {
  std::string key, cid, name, address;
  int size = 0;
};

const char* const kDistrictAddresses[] = {"河北省石家庄市长安区中山东路39号",
                                          "河北省石家庄市桥西区中华南大街2号",
                                          "河北省石家庄市新华区友谊北大街5号"};

std::vector<Person> five_people() {
  return {{"p-1", citizen_id(1), "张三丰", kDistrictAddresses[0], 3},
          {"p-2", citizen_id(2), "李四", kDistrictAddresses[0], 2},
          {"p-3", citizen_id(3), "王五", kDistrictAddresses[0], 4},
          {"p-4", citizen_id(4), "赵六", kDistrictAddresses[1], 1},
          {"p-5", citizen_id(5), "钱七", kDistrictAddresses[1], 5}};
}

// 25 people: 12 in 长安区, 10 in 桥西区, 3 in 新华区 (a group smaller than k = 10).
std::vector<Person> many_people() {
  const char* names[] = {"张三丰", "李四", "王五", "赵六", "钱七"};
  std::vector<Person> out;
  for (int i = 0; i < 25; ++i) {
    out.push_back({"s-" + std::to_string(i), citizen_id(i + 1), names[i % 5],
                   kDistrictAddresses[i < 12   ? 0
                                      : i < 22 ? 1
                                               : 2],
                   i % 3 + 1});
  }
  return out;
}

v1::DatasetEntry person_dataset(const std::string& id, const std::string& open,
                                const std::string& share) {
  v1::DatasetEntry e;
  e.set_id(id);
  e.set_name("测试人口 " + id);
  e.set_provider_agency("sjz-gongan");
  e.set_grade("general-3");
  e.set_open_attribute(open);
  e.set_share_attribute(share);
  e.set_update_frequency("daily");
  e.set_subject_kind("person");
  e.set_category("population");
  auto field = [&](const char* name, v1::FieldType type, v1::PiiKind pii) {
    auto* f = e.add_fields();
    f->set_name(name);
    f->set_type(type);
    f->set_pii(pii);
    f->set_required(pii == v1::PII_CITIZEN_ID);
  };
  field("citizen_id", v1::FIELD_TYPE_TEXT, v1::PII_CITIZEN_ID);
  field("name", v1::FIELD_TYPE_TEXT, v1::PII_NAME);
  field("birth_date", v1::FIELD_TYPE_DATE, v1::PII_BIRTH_DATE);
  field("address", v1::FIELD_TYPE_TEXT, v1::PII_ADDRESS);
  field("household_size", v1::FIELD_TYPE_INTEGER, v1::PII_NONE);
  return e;
}

v1::Record record_of(const std::string& dataset, const Person& p) {
  v1::Record r;
  r.set_dataset(dataset);
  r.set_record_key(p.key);
  r.set_subject_id(p.cid);
  r.set_observed_at_ms(kStartMs - kDayMs);
  auto add = [&](const char* n) {
    auto* f = r.add_fields();
    f->set_name(n);
    return f->mutable_value();
  };
  add("citizen_id")->set_text(p.cid);
  add("name")->set_text(p.name);
  add("birth_date")->set_date_days(int32_t(days_from_civil({1990, 3, 7})));
  add("address")->set_text(p.address);
  add("household_size")->set_integer(p.size);
  return r;
}

// The masks of the shipped profiles (policies/policy/masks.toml, docs/policy.md), written out
// for the values above: a name keeps its first character (not byte), an address its units.
std::string first_char_kept(const std::string& name) {
  // The names above are CJK: three UTF-8 bytes a character.
  return name.substr(0, 3) + std::string(name.size() / 3 - 1, '*');
}
std::string county_of(const std::string& address) {
  return address.substr(0, address.find("区") + std::string("区").size()) + "***";
}

// Checks every field of a --json row against what profile says for person p, and that no
// other field came back.
void check_masked(const std::string& profile, const json& row, const Person& p) {
  INFO(profile << " " << row.dump());
  const json& f = row.at("fields");
  std::set<std::string> seen;
  for (auto it = f.begin(); it != f.end(); ++it) seen.insert(it.key());
  auto token = [](const json& v) {
    return v.is_string() && v.get<std::string>().rfind("tk_", 0) == 0 &&
           v.get<std::string>().size() == 3 + 32;
  };
  CHECK(f.at("household_size") == p.size);
  CHECK(row.count("version") ==
        (profile == "provider-own" || profile == "share-masked" || profile == "staff-masked" ? 1u
                                                                                             : 0u));
  if (profile == "provider-own") {
    CHECK(seen ==
          std::set<std::string>{"citizen_id", "name", "birth_date", "address", "household_size"});
    CHECK(f.at("citizen_id") == p.cid);
    CHECK(f.at("name") == p.name);
    CHECK(f.at("birth_date") == "1990-03-07");
    CHECK(f.at("address") == p.address);
    CHECK(row.at("record_key") == p.key);
    CHECK(row.at("subject_id") == p.cid);
  } else if (profile == "share-masked") {
    CHECK(seen ==
          std::set<std::string>{"citizen_id", "name", "birth_date", "address", "household_size"});
    CHECK(f.at("citizen_id") == p.cid);
    CHECK(f.at("name") == first_char_kept(p.name));
    CHECK(f.at("birth_date") == 1990);
    CHECK(f.at("address") == county_of(p.address));
    CHECK(row.at("record_key") == p.key);
    CHECK(row.at("subject_id") == p.cid);
  } else if (profile == "open-anonymised") {
    CHECK(seen == std::set<std::string>{"birth_date", "address", "household_size"});
    CHECK(f.at("birth_date") == 1990);
    CHECK(f.at("address") == "河北省石家庄市***");
    CHECK(token(row.at("record_key")));
    CHECK(row.at("subject_id") == "");
  } else if (profile == "conditional-anonymised") {
    // Fields outside the request are not returned; those returned are anonymised.
    for (const auto& name : seen) {
      if (name == "citizen_id") CHECK(token(f.at(name)));
      if (name == "birth_date") CHECK(f.at(name) == 1990);
      if (name == "address") CHECK(f.at(name) == county_of(p.address));
      CHECK(name != "name");
    }
    CHECK(token(row.at("record_key")));
    CHECK((row.at("subject_id") == "" || token(row.at("subject_id"))));
  } else {
    FAIL("no expectation for profile " << profile);
  }
}

// Matches each row of a --json answer to its person (by record key, or by household size where
// the key is a token) and checks its masking; returns how many rows were checked.
size_t check_rows(const std::string& profile, const json& rows, const std::vector<Person>& people) {
  size_t n = 0;
  for (const json& row : rows) {
    const Person* p = nullptr;
    for (const auto& candidate : people) {
      const bool by_key = row.at("record_key") == candidate.key;
      const bool by_size =
          people.size() <= 5 && row.at("fields").at("household_size") == candidate.size;
      if (by_key || (row.at("record_key").get<std::string>().rfind("tk_", 0) == 0 && by_size))
        p = &candidate;
    }
    REQUIRE(p);
    check_masked(profile, row, *p);
    ++n;
  }
  return n;
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

// A key file made by `gongshuctl keygen`.
struct KeyFile {
  std::string path, public_key, key_id;
};

// The platform of these tests: gongshud with three agencies and three datasets of sjz-gongan
// (closed but shared, conditionally open, unconditionally open), its records delivered by a
// test agent; gongshuctl reaches it through the environment (GONGSHU_API, GONGSHU_DAEMON_KEY)
// with the key file each call names.
struct Platform {
  Platform() : f(FixtureOptions{&clock, ""}) {
    f.add_agency("sjz-gongan", "石家庄市公安局");
    f.add_agency("sjz-minzheng", "石家庄市民政局");
    f.add_agency("sjz-shuiwu", "国家税务总局石家庄市税务局");
    for (const auto& e : {person_dataset("people.shared", "closed", "unconditional"),
                          person_dataset("people.cond", "conditional", "conditional"),
                          person_dataset("people.open", "unconditional", "unconditional")}) {
      v1::ApiRequest req;
      *req.mutable_catalog_add()->mutable_entry() = e;
      auto resp = f.op->call(req);
      INFO(resp.error().message());
      REQUIRE(resp.error().code() == v1::API_OK);
    }
    agent_key = std::make_unique<crypto::IdentityKey>(f.enroll("sjz-gongan"));
    TestAgent agent(f.ctx, *agent_key, f.daemon->public_key(), f.daemon->ingest_endpoint(),
                    "sjz-gongan");
    uint64_t seq = 0;
    for (const auto& [dataset, people] :
         {std::pair{"people.shared", many_people()}, std::pair{"people.cond", five_people()},
          std::pair{"people.open", five_people()}}) {
      std::vector<v1::Record> records;
      for (const auto& p : people) records.push_back(record_of(dataset, p));
      agent.send(++seq, records);
      auto ack = agent.ack();
      REQUIRE(ack);
      REQUIRE(ack->accepted() == records.size());
    }
    env = {{"GONGSHU_API", f.daemon->api_endpoint()},
           {"GONGSHU_DAEMON_KEY", f.daemon->public_key().hex()}};
    op = f.operator_key_path;
  }

  RunResult ctl(const std::string& key, std::vector<std::string> args,
                const std::string& stdin_text = "") {
    args.insert(args.begin(), kCtl);
    auto e = env;
    e["GONGSHU_KEY"] = key;
    return gongshu::testing::run_process(args, stdin_text, e);
  }

  KeyFile keygen(const std::string& kind) {
    KeyFile k;
    k.path = f.dir.file(kind + "-" + std::to_string(++keys) + ".key");
    auto j = parse(
        gongshu::testing::run_process({kCtl, "keygen", "--kind", kind, "--out", k.path, "--json"}));
    k.public_key = j.at("public_key");
    k.key_id = j.at("key_id");
    return k;
  }

  // A key registered with `gongshuctl principal add` by the operator.
  KeyFile principal(const std::string& role, std::vector<std::string> extra = {}) {
    KeyFile k = keygen(role);
    std::vector<std::string> args = {"principal", "add",          "--role",
                                     role,        "--public-key", k.public_key,
                                     "--name",    "测试 " + role, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto j = parse(ctl(op, args));
    CHECK(j.at("key_id") == k.key_id);
    CHECK(j.at("role") == role);
    return k;
  }
  KeyFile agency_user(const std::string& agency) {
    return principal("agency", {"--agency", agency});
  }

  FakeClock clock{kStartMs * 1'000'000};
  DaemonFixture f;
  std::unique_ptr<crypto::IdentityKey> agent_key;
  std::map<std::string, std::string> env;
  std::string op;
  int keys = 0;
};

// ---------------------------------------------------------------------------------------------

TEST_CASE("gongshuctl query: another agency's masked view as a table, CSV and JSON") {
  Platform p;
  auto minzheng = p.agency_user("sjz-minzheng");
  auto gongan = p.agency_user("sjz-gongan");
  const auto people = many_people();

  // JSON, every page: 25 rows, each share-masked.
  auto j = parse(p.ctl(minzheng.path, {"query", "people.shared", "--purpose", "subsidy-check",
                                       "--limit", "10", "--all", "--json"}));
  CHECK(j.at("dataset") == "people.shared");
  CHECK(j.at("decision").at("rule") == "share-unconditional");
  CHECK(j.at("decision").at("mask_profile") == "share-masked");
  CHECK(j.at("decision").at("policy_version") == "2026.01.1");
  CHECK(j.at("columns") == json({"citizen_id", "name", "birth_date", "address", "household_size"}));
  CHECK(j.count("next_cursor") == 0);
  CHECK(check_rows("share-masked", j.at("rows"), people) == 25);

  // A table: masked names, never the delivered ones; the rule on stderr; a cursor for more.
  auto t = p.ctl(minzheng.path,
                 {"query", "people.shared", "--purpose", "subsidy-check", "--limit", "3"});
  INFO(t.err);
  REQUIRE(t.exit_code == 0);
  CHECK(contains(t.out, "RECORD KEY"));
  CHECK(contains(t.out, "张**"));
  CHECK(contains(t.out, "河北省石家庄市长安区***"));
  CHECK(!contains(t.out, "张三丰"));
  CHECK(!contains(t.out, "中山东路"));
  CHECK(contains(t.err, "3 row(s) of people.shared; allowed by rule share-unconditional"));
  CHECK(contains(t.err, "masked with profile share-masked"));
  CHECK(contains(t.err, "more rows: --cursor "));

  // CSV: a header of the columns, then one line a row.
  auto csv = p.ctl(minzheng.path, {"query", "people.shared", "--purpose", "subsidy-check",
                                   "--subject", citizen_id(1), "--csv"});
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out ==
        "record_key,subject_id,citizen_id,name,birth_date,address,household_size\n"
        "s-0," +
            citizen_id(1) + "," + citizen_id(1) + ",张**,1990," + county_of(kDistrictAddresses[0]) +
            ",1\n");

  // Only the fields asked for.
  auto some =
      parse(p.ctl(minzheng.path, {"query", "people.shared", "--purpose", "subsidy-check",
                                  "--fields", "address,household_size", "--json", "--limit", "2"}));
  CHECK(some.at("columns") == json({"address", "household_size"}));
  for (const auto& row : some.at("rows")) CHECK(row.at("fields").size() == 2);

  // The providing agency sees its own data as delivered.
  auto own = parse(p.ctl(gongan.path, {"query", "people.open", "--json"}));
  CHECK(own.at("decision").at("mask_profile") == "provider-own");
  CHECK(check_rows("provider-own", own.at("rows"), five_people()) == 5);

  // A denied raw read: exit 1, the rule and the reason in the message, nothing on stdout.
  auto denied = p.ctl(minzheng.path, {"query", "people.cond", "--purpose", "subsidy-check"});
  CHECK(denied.exit_code == 1);
  CHECK(denied.out.empty());
  CHECK(contains(denied.err, "gongshuctl: denied: role agency may not read dataset people.cond"));
  CHECK(contains(denied.err, "default-deny, policy 2026.01.1"));
  CHECK(contains(denied.err, "rule share-conditional-agreement: "));
  // Without the purpose sharing requires, also denied, and the reason says so.
  auto no_purpose = p.ctl(minzheng.path, {"query", "people.shared"});
  CHECK(no_purpose.exit_code == 1);
  CHECK(contains(no_purpose.err, "rule share-unconditional: the request states no purpose"));
  // Bad requests are usage errors (exit 2).
  auto bad_field =
      p.ctl(minzheng.path, {"query", "people.shared", "--purpose", "x", "--fields", "salary"});
  CHECK(bad_field.exit_code == 2);
  CHECK(contains(bad_field.err, "has no field 'salary'"));
  CHECK(p.ctl(minzheng.path, {"query", "no.such", "--purpose", "x"}).exit_code == 1);
}

TEST_CASE("gongshuctl lookup: one subject across datasets, masked, with what is not visible") {
  Platform p;
  auto minzheng = p.agency_user("sjz-minzheng");
  const std::string cid = citizen_id(1);
  auto j = parse(p.ctl(minzheng.path, {"lookup", cid, "--purpose", "subsidy-check", "--json"}));
  CHECK(j.at("subject_kind") == "citizen_id");
  std::map<std::string, json> found;
  for (const auto& d : j.at("datasets")) found[d.at("dataset")] = d;
  REQUIRE(found.size() == 2);
  REQUIRE(found.count("people.shared"));
  REQUIRE(found.count("people.open"));
  CHECK(found["people.shared"].at("provider") == "sjz-gongan");
  CHECK(found["people.shared"].at("decision").at("rule") == "share-unconditional");
  CHECK(check_rows("share-masked", found["people.shared"].at("rows"), many_people()) == 1);
  CHECK(check_rows("share-masked", found["people.open"].at("rows"), five_people()) == 1);
  REQUIRE(j.at("denied").size() == 1);
  CHECK(j.at("denied")[0].at("dataset") == "people.cond");
  CHECK(j.at("denied")[0].at("rule") == "default-deny");

  auto t = p.ctl(minzheng.path, {"lookup", cid, "--purpose", "subsidy-check"});
  REQUIRE(t.exit_code == 0);
  CHECK(contains(t.out, "people.shared"));
  CHECK(contains(t.out, "not visible to you:"));
  CHECK(contains(t.out, "people.cond"));
  CHECK(!contains(t.out, "张三丰"));

  // Not an identifier: a usage error.
  auto bad = p.ctl(minzheng.path, {"lookup", "12345", "--purpose", "x"});
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.err, "neither a valid citizen ID number"));
}

TEST_CASE("gongshuctl open-catalog and download as the public") {
  Platform p;
  auto stranger = p.keygen("public");

  // The open catalog lists unconditionally and conditionally open datasets — entries,
  // not data — and never the closed one.
  auto cat = parse(p.ctl(stranger.path, {"open-catalog", "--json"}));
  std::map<std::string, json> listed;
  for (const auto& d : cat.at("datasets")) listed[d.at("id")] = d;
  CHECK(listed.size() == 2);
  CHECK(listed.count("people.shared") == 0);
  REQUIRE(listed.count("people.open"));
  CHECK(listed["people.open"].at("open") == "unconditional");
  CHECK(listed["people.open"].at("provider") == "sjz-gongan");
  CHECK(listed["people.open"].at("provider_name") == "石家庄市公安局");
  CHECK(listed["people.open"].at("update_frequency") == "daily");
  CHECK(listed["people.open"].at("records") == 5);
  CHECK(listed["people.cond"].at("open") == "conditional");
  auto table = p.ctl(stranger.path, {"open-catalog"});
  REQUIRE(table.exit_code == 0);
  CHECK(contains(table.out, "people.open"));
  CHECK(!contains(table.out, "people.shared"));
  CHECK(contains(table.err, "2 dataset(s) (policy 2026.01.1)"));

  // A CSV download in chunks of two: the file holds every row, anonymised; progress on stderr.
  const std::string csv = p.f.dir.file("open.csv");
  auto d =
      p.ctl(stranger.path, {"download", "people.open", "--out", csv, "--chunk", "2", "--progress"});
  INFO(d.err);
  REQUIRE(d.exit_code == 0);
  CHECK(d.out.empty());
  CHECK(contains(d.err, "people.open: 2 / 5 rows (40%)\n"));
  CHECK(contains(d.err, "people.open: 4 / 5 rows (80%)\n"));
  CHECK(contains(d.err, "people.open: 5 / 5 rows (100%)\n"));
  CHECK(contains(d.err, "downloaded 5 rows of people.open to " + csv));
  CHECK(contains(d.err, "allowed by rule open-unconditional-download"));
  CHECK(contains(d.err, "masked with profile open-anonymised"));
  std::istringstream lines(gongshu::testing::read_text(csv));
  std::string line;
  std::getline(lines, line);
  CHECK(line == "record_key,subject_id,birth_date,address,household_size");
  std::set<std::string> sizes;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    CHECK(line.rfind("tk_", 0) == 0);
    CHECK(contains(line, ",,1990,河北省石家庄市***,"));
    sizes.insert(line.substr(line.rfind(',') + 1));
    for (const auto& person : five_people()) {
      CHECK(!contains(line, person.cid));
      CHECK(!contains(line, person.name));
    }
  }
  CHECK(n == 5);
  CHECK(sizes == std::set<std::string>{"1", "2", "3", "4", "5"});

  // JSON Lines, quietly: each line parses and is masked as the profile says.
  const std::string jsonl = p.f.dir.file("open.jsonl");
  auto dj = p.ctl(stranger.path,
                  {"download", "people.open", "--out", jsonl, "--format", "jsonl", "--quiet"});
  REQUIRE(dj.exit_code == 0);
  CHECK(dj.err.empty());
  json rows = json::array();
  std::istringstream jl(gongshu::testing::read_text(jsonl));
  while (std::getline(jl, line)) rows.push_back(json::parse(line));
  CHECK(check_rows("open-anonymised", rows, five_people()) == 5);

  // Conditional and closed data never reach the public, nor does anything but downloads. A
  // refused download leaves the file it was to write as it was.
  for (const char* ds : {"people.cond", "people.shared"}) {
    auto r = p.ctl(stranger.path, {"download", ds, "--out", csv});
    INFO(ds << ": " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.err, "denied: role public may not download dataset " + std::string(ds)));
    CHECK(gongshu::testing::read_text(csv).size() > 100);
  }
  CHECK(!std::filesystem::exists(p.f.dir.file("never.csv")));
  CHECK(p.ctl(stranger.path, {"download", "people.cond", "--out", p.f.dir.file("never.csv")})
            .exit_code == 1);
  CHECK(!std::filesystem::exists(p.f.dir.file("never.csv")));
  auto q = p.ctl(stranger.path, {"query", "people.open"});
  CHECK(q.exit_code == 1);
  CHECK(contains(q.err, "denied"));
}

TEST_CASE("gongshuctl aggregate: a licensed operator's groups, small ones suppressed, no rows") {
  Platform p;
  auto licensed = p.principal("licensed", {"--until", "2026-06-01", "--datasets", "people.shared",
                                           "--purposes", "market-analysis"});
  auto j =
      parse(p.ctl(licensed.path, {"aggregate", "people.shared", "--by", "address", "--sum",
                                  "household_size", "--purpose", "market-analysis", "--json"}));
  CHECK(j.at("decision").at("rule") == "licensed-aggregate");
  CHECK(j.at("decision").at("k_threshold") == 10);
  CHECK(j.at("group_by") == json({"address"}));
  CHECK(j.at("suppressed_groups") == 1);  // 新华区: 3 people
  REQUIRE(j.at("groups").size() == 2);
  // 长安区: i = 0..11, sizes i % 3 + 1 sum to 24; 桥西区: i = 12..21 sum to 19.
  CHECK(j.at("groups")[0] ==
        json({{"key", {"河北省石家庄市长安区***"}}, {"count", 12}, {"sums", {24.0}}}));
  CHECK(j.at("groups")[1] ==
        json({{"key", {"河北省石家庄市桥西区***"}}, {"count", 10}, {"sums", {19.0}}}));

  auto t = p.ctl(licensed.path,
                 {"aggregate", "people.shared", "--by", "address", "--purpose", "market-analysis"});
  REQUIRE(t.exit_code == 0);
  CHECK(contains(t.out, "COUNT"));
  CHECK(contains(t.out, "河北省石家庄市长安区***"));
  CHECK(!contains(t.out, "新华区"));
  CHECK(contains(t.err, "2 group(s); 1 group(s) smaller than k=10 suppressed"));
  auto csv = p.ctl(licensed.path, {"aggregate", "people.shared", "--by", "address", "--sum",
                                   "household_size", "--purpose", "market-analysis", "--csv"});
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out ==
        "address,count,sum_household_size\n河北省石家庄市长安区***,12,24\n"
        "河北省石家庄市桥西区***,10,19\n");

  // Grouping by a person's identifier gives groups of one: every one suppressed.
  auto by_person = parse(p.ctl(licensed.path, {"aggregate", "people.shared", "--by", "citizen_id",
                                               "--purpose", "market-analysis", "--json"}));
  CHECK(by_person.at("groups").empty());
  CHECK(by_person.at("suppressed_groups") == 25);

  // The same key never gets a row: query, download and lookup are denied by rule.
  auto raw = p.ctl(licensed.path, {"query", "people.shared", "--purpose", "market-analysis"});
  CHECK(raw.exit_code == 1);
  CHECK(raw.out.empty());
  CHECK(contains(raw.err, "rule licensed-no-raw-rows denies it"));
  auto dl = p.ctl(licensed.path, {"download", "people.shared", "--out", p.f.dir.file("x.csv"),
                                  "--purpose", "market-analysis"});
  CHECK(dl.exit_code == 1);
  CHECK(contains(dl.err, "licensed-no-raw-rows"));
  auto l = parse(
      p.ctl(licensed.path, {"lookup", citizen_id(1), "--purpose", "market-analysis", "--json"}));
  CHECK(l.at("datasets").empty());
  for (const auto& d : l.at("denied")) CHECK(d.at("rule") != "");
  // Outside the licence: another dataset, another purpose; and after its term, nothing.
  CHECK(p.ctl(licensed.path,
              {"aggregate", "people.open", "--by", "address", "--purpose", "market-analysis"})
            .exit_code == 1);
  CHECK(
      p.ctl(licensed.path, {"aggregate", "people.shared", "--by", "address", "--purpose", "resale"})
          .exit_code == 1);
  p.clock.set_ns(at(2026, 6, 2) * 1'000'000);
  auto late = p.ctl(licensed.path, {"aggregate", "people.shared", "--by", "address", "--purpose",
                                    "market-analysis"});
  CHECK(late.exit_code == 1);
  CHECK(contains(late.err, "expired"));
}

TEST_CASE("gongshuctl agreement: apply, review, approve, sign, use, quota, revoke, violation") {
  Platform p;
  auto gongan = p.agency_user("sjz-gongan");
  auto minzheng = p.agency_user("sjz-minzheng");
  auto applicant = p.principal("applicant");
  const std::string purpose = "traffic-study";
  auto apply = [&](const KeyFile& k, std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "agreement", "apply",         "--purpose",  purpose,
        "--to",      "2026-04-01",    "--measures", "加密工作站处理，访问留痕",
        "--name",    "某某交通研究院"};
    args.insert(args.end(), extra.begin(), extra.end());
    return p.ctl(k.path, args);
  };

  auto a = parse(apply(
      applicant, {"--dataset", "people.cond:address,household_size", "--rows", "3", "--json"}));
  const std::string id = a.at("id");
  CHECK(id == "KF-2026-0001");
  CHECK(a.at("kind") == "open");
  CHECK(a.at("status") == "pending_review");
  CHECK(a.at("holder") == applicant.key_id);
  CHECK(a.at("scope") ==
        json({{{"dataset", "people.cond"}, {"fields", {"address", "household_size"}}}}));
  CHECK(a.at("reviews_pending") == json({"sjz-gongan"}));
  CHECK(a.at("row_quota") == 3);
  CHECK(a.at("valid_to") == "2026-03-31T16:00:00Z");

  // Not usable, nor signable, before its turn; steps by the wrong principal are refused.
  auto early =
      p.ctl(applicant.path, {"query", "people.cond", "--fields", "address", "--purpose", purpose});
  CHECK(early.exit_code == 1);
  CHECK(contains(early.err, id + ": is pending"));
  auto early_sign = p.ctl(applicant.path, {"agreement", "sign", id, "--yes"});
  CHECK(early_sign.exit_code == 1);
  CHECK(contains(early_sign.err, "is pending_review, not awaiting your signature"));
  auto wrong_reviewer = p.ctl(minzheng.path, {"agreement", "review", id, "--approve"});
  CHECK(wrong_reviewer.exit_code == 1);
  CHECK(contains(wrong_reviewer.err, "agency sjz-minzheng provides none of the datasets"));
  CHECK(p.ctl(p.op, {"agreement", "approve", id, "--approve"}).exit_code == 1);  // not reviewed
  CHECK(p.ctl(gongan.path, {"agreement", "review", id}).exit_code == 2);         // neither flag

  auto reviewed = parse(
      p.ctl(gongan.path, {"agreement", "review", id, "--approve", "--note", "同意", "--json"}));
  CHECK(reviewed.at("status") == "pending_approval");
  CHECK(reviewed.at("reviews")[0].at("agency") == "sjz-gongan");
  CHECK(p.ctl(applicant.path, {"agreement", "approve", id, "--approve"}).exit_code == 1);
  auto approved = p.ctl(p.op, {"agreement", "approve", id, "--approve"});
  REQUIRE(approved.exit_code == 0);
  CHECK(contains(approved.out, "approved " + id + ": now pending_signature"));

  // Signing: the commitment is printed, then signed with the caller's key; declining is exit 1.
  auto declined = p.ctl(applicant.path, {"agreement", "sign", id}, "n\n");
  CHECK(declined.exit_code == 1);
  CHECK(contains(declined.err, "gongshu security commitment v1\nagreement: " + id));
  CHECK(contains(declined.err, "not signed"));
  CHECK(p.ctl(minzheng.path, {"agreement", "sign", id, "--yes"}).exit_code == 1);
  auto signed_ = p.ctl(applicant.path, {"agreement", "sign", id, "--json"}, "y\n");
  INFO(signed_.err);
  auto active = parse(signed_);
  CHECK(active.at("status") == "active");
  CHECK(contains(active.at("commitment").get<std::string>(), "row quota: 3"));
  CHECK(p.ctl(applicant.path, {"agreement", "sign", id, "--yes"}).exit_code == 1);  // once

  // list and show, for whom may see it.
  auto listed = parse(p.ctl(applicant.path, {"agreement", "list", "--json"}));
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].at("id") == id);
  CHECK(listed[0].at("status") == "active");
  CHECK(parse(p.ctl(gongan.path, {"agreement", "list", "--json"})).size() == 1);  // provider
  CHECK(parse(p.ctl(minzheng.path, {"agreement", "list", "--json"})).empty());
  auto show = p.ctl(p.op, {"agreement", "show", id});
  REQUIRE(show.exit_code == 0);
  CHECK(contains(show.out, "status:      active"));
  CHECK(contains(show.out, "--- security commitment ---"));
  CHECK(contains(show.out, "row quota:   0 of 3 used"));
  CHECK(p.ctl(minzheng.path, {"agreement", "show", id}).exit_code == 1);

  // Use within its fields and purpose, anonymised, until the row quota is spent.
  auto outside =
      p.ctl(applicant.path, {"query", "people.cond", "--fields", "name", "--purpose", purpose});
  CHECK(outside.exit_code == 1);
  CHECK(contains(outside.err, "does not cover field name"));
  auto q1 = parse(p.ctl(applicant.path, {"query", "people.cond", "--fields", "address", "--purpose",
                                         purpose, "--limit", "2", "--json"}));
  CHECK(q1.at("decision").at("rule") == "open-conditional-agreement");
  CHECK(q1.at("decision").at("mask_profile") == "conditional-anonymised");
  CHECK(q1.at("decision").at("agreement") == id);
  CHECK(q1.at("decision").at("rows_remaining") == 1);
  REQUIRE(q1.at("rows").size() == 2);
  for (const auto& row : q1.at("rows")) {
    CHECK(row.at("fields").size() == 1);
    CHECK(row.at("record_key").get<std::string>().rfind("tk_", 0) == 0);
    const std::string addr = row.at("fields").at("address");
    CHECK((addr == county_of(kDistrictAddresses[0]) || addr == county_of(kDistrictAddresses[1])));
  }
  // The next page gets what the quota has left, then nothing.
  auto q2 =
      parse(p.ctl(applicant.path, {"query", "people.cond", "--fields", "address,household_size",
                                   "--purpose", purpose, "--json"}));
  REQUIRE(q2.at("rows").size() == 1);
  CHECK(q2.at("decision").at("rows_remaining") == 0);
  const auto people = five_people();
  for (const auto& row : q2.at("rows")) {
    const Person* match = nullptr;
    for (const auto& person : people)
      if (row.at("fields").at("household_size") == person.size) match = &person;
    REQUIRE(match);
    CHECK(row.at("fields").at("address") == county_of(match->address));
  }
  auto spent =
      p.ctl(applicant.path, {"query", "people.cond", "--fields", "address", "--purpose", purpose});
  CHECK(spent.exit_code == 1);
  CHECK(contains(spent.err, "row quota is exhausted"));
  CHECK(contains(p.ctl(p.op, {"agreement", "show", id}).out, "row quota:   3 of 3 used"));

  // A second agreement: revoked, it stops on the next request.
  auto b = parse(apply(applicant, {"--dataset", "people.cond", "--json"}));
  const std::string id2 = b.at("id");
  CHECK(id2 == "KF-2026-0002");
  REQUIRE(p.ctl(gongan.path, {"agreement", "review", id2, "--approve"}).exit_code == 0);
  REQUIRE(p.ctl(p.op, {"agreement", "approve", id2, "--approve"}).exit_code == 0);
  REQUIRE(p.ctl(applicant.path, {"agreement", "sign", id2, "--yes"}).exit_code == 0);
  auto dl = p.ctl(applicant.path, {"download", "people.cond", "--out", p.f.dir.file("c.jsonl"),
                                   "--format", "jsonl", "--purpose", purpose, "--quiet"});
  INFO(dl.err);
  REQUIRE(dl.exit_code == 0);
  json rows = json::array();
  std::istringstream jl(gongshu::testing::read_text(p.f.dir.file("c.jsonl")));
  for (std::string line; std::getline(jl, line);) rows.push_back(json::parse(line));
  CHECK(check_rows("conditional-anonymised", rows, five_people()) == 5);
  CHECK(p.ctl(applicant.path, {"agreement", "revoke", id2, "--reason", "x"}).exit_code == 1);
  auto revoked = p.ctl(p.op, {"agreement", "revoke", id2, "--reason", "项目结束"});
  REQUIRE(revoked.exit_code == 0);
  CHECK(contains(revoked.out, "revoked " + id2 + ": now revoked"));
  auto after = p.ctl(applicant.path, {"query", "people.cond", "--purpose", purpose});
  CHECK(after.exit_code == 1);
  CHECK(contains(after.err, id2 + ": is revoked"));
  CHECK(p.ctl(p.op, {"agreement", "revoke", id2, "--reason", "again"}).exit_code == 1);

  // Aggregates under the agreement reveal no rows (the spent quota does not stop them), but
  // groups smaller than k = 10 are left out: here every one.
  auto agg = parse(p.ctl(applicant.path, {"aggregate", "people.cond", "--by", "address",
                                          "--purpose", purpose, "--json"}));
  CHECK(agg.at("decision").at("agreement") == id);
  CHECK(agg.at("groups").empty());
  CHECK(agg.at("suppressed_groups") == 2);

  // Expiry takes effect on the next request; show says it expired.
  p.clock.set_ns(at(2026, 3, 31) * 1'000'000 + 16 * 3'600'000'000'000LL);
  auto expired = parse(p.ctl(applicant.path, {"agreement", "show", id, "--json"}));
  CHECK(expired.at("status") == "expired");
  auto late =
      p.ctl(applicant.path, {"aggregate", "people.cond", "--by", "address", "--purpose", purpose});
  CHECK(late.exit_code == 1);
  CHECK(contains(late.err, id + ": expired at"));

  // A violation: recorded for good, the agreement ends, and no new application is accepted.
  auto v = parse(p.ctl(p.op, {"agreement", "violation", id, "--note", "数据转交第三方", "--json"}));
  CHECK(v.at("violation") == true);
  CHECK(v.at("status") == "revoked");
  p.clock.set_ns(kStartMs * 1'000'000);
  auto blocked = apply(applicant, {"--dataset", "people.cond"});
  CHECK(blocked.exit_code == 1);
  CHECK(contains(blocked.err, "has a recorded violation (agreement " + id));
  // Another applicant is not blocked.
  auto other = p.principal("applicant");
  CHECK(apply(other, {"--dataset", "people.cond"}).exit_code == 0);
}

TEST_CASE("gongshuctl principal add, list and revoke") {
  Platform p;
  auto k = p.keygen("agency");
  auto added = p.ctl(p.op, {"principal", "add", "--role", "agency", "--agency", "sjz-minzheng",
                            "--public-key", k.public_key, "--name", "民政局 张科长"});
  REQUIRE(added.exit_code == 0);
  CHECK(added.out == "registered agency " + k.key_id + " of sjz-minzheng (民政局 张科长)\n");
  auto again = p.ctl(p.op, {"principal", "add", "--role", "agency", "--agency", "sjz-minzheng",
                            "--public-key", k.public_key});
  CHECK(again.exit_code == 1);
  CHECK(contains(again.err, "already registered"));
  CHECK(p.ctl(p.op, {"principal", "add", "--role", "agency", "--agency", "no-such", "--public-key",
                     p.keygen("agency").public_key})
            .exit_code == 1);
  CHECK(p.ctl(p.op, {"principal", "add", "--role", "agent", "--public-key", k.public_key})
            .exit_code == 2);  // not a role one adds
  auto lic = p.ctl(p.op, {"principal", "add", "--role", "licensed", "--public-key",
                          p.keygen("licensed").public_key, "--until", "2026-09-01", "--datasets",
                          "people.shared", "--purposes", "statistics"});
  REQUIRE(lic.exit_code == 0);
  CHECK(contains(lic.out, "licence: people.shared for statistics until 2026-08-31T16:00:00Z"));

  auto list = parse(p.ctl(p.op, {"principal", "list", "--role", "agency", "--json"}));
  REQUIRE(list.size() == 1);
  CHECK(list[0].at("key_id") == k.key_id);
  CHECK(list[0].at("public_key") == k.public_key);
  CHECK(list[0].at("agency") == "sjz-minzheng");
  CHECK(list[0].at("revoked") == false);
  auto table = p.ctl(p.op, {"principal", "list"});
  REQUIRE(table.exit_code == 0);
  CHECK(contains(table.out, k.key_id));
  CHECK(contains(table.out, "people.shared until 2026-08-31T16:00:00Z"));
  // Only staff list principals; only operators add them.
  auto by_user = p.ctl(k.path, {"principal", "list"});
  CHECK(by_user.exit_code == 1);
  CHECK(p.ctl(k.path, {"principal", "add", "--role", "operator", "--public-key",
                       p.keygen("operator").public_key})
            .exit_code == 1);

  // The user works until revoked; from the next request it is the public.
  REQUIRE(p.ctl(k.path, {"query", "people.shared", "--purpose", "subsidy-check"}).exit_code == 0);
  auto revoked = p.ctl(p.op, {"principal", "revoke", k.key_id, "--reason", "调离"});
  REQUIRE(revoked.exit_code == 0);
  CHECK(contains(revoked.out, "revoked agency " + k.key_id));
  auto listed = parse(p.ctl(p.op, {"principal", "list", "--role", "agency", "--json"}));
  CHECK(listed[0].at("revoked") == true);
  CHECK(listed[0].at("revoke_reason") == "调离");
  auto denied = p.ctl(k.path, {"query", "people.shared", "--purpose", "subsidy-check"});
  CHECK(denied.exit_code == 1);
  CHECK(contains(denied.err, "role public may not read"));
  CHECK(p.ctl(p.op, {"principal", "revoke", k.key_id}).exit_code == 1);  // already
  CHECK(p.ctl(p.op, {"principal", "revoke", "0123456789abcdef"}).exit_code == 1);
}

}  // namespace
}  // namespace gongshu::ctl
