// Terminal safety (issue 13, item 4): text with control characters — ESC sequences, a C1 CSI, a
// right-to-left override — reaches gongshuctl's human-readable output escaped, its --json
// output as JSON escapes, and is refused at intake where the field is an identifier or a name
// (docs/protocol.md, "Text and control characters"). The real gongshuctl against an in-process
// gongshud over real sockets.
#include <fcntl.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/util/clock.h"
#include "tests/daemon/daemon_fixture.h"

namespace gongshu::ctl {
namespace {

using daemon::testing::citizen_id;
using daemon::testing::DaemonFixture;
using daemon::testing::FixtureOptions;
using daemon::testing::TestAgent;
using gongshu::testing::RunResult;

const std::string kCtl = gongshu::testing::binary_path("bin/gongshuctl");
const int64_t kStartMs = days_from_civil({2026, 3, 2}) * 86'400'000LL + 4 * 3'600'000LL;

// Clears the screen, sets the window title, turns text red; then a C1 CSI and an override.
const std::string kHostile =
    "张三\x1b[2J\x1b]0;pwned\x07\x1b[31m\xc2\x9b"
    "2J\xe2\x80\xae"
    "abc";
const std::string kShown = "张三\\x1b[2J\\x1b]0;pwned\\x07\\x1b[31m\\u009b2J\\u202eabc";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Runs argv with its standard output on a pseudo-terminal (what a person at a terminal sees)
// and env added; returns what it wrote there. Standard error stays this process's.
std::string run_on_terminal(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& env) {
  // Everything the child needs is built before fork(): the daemon's threads run beside.
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    if (!env.count(kv.substr(0, kv.find('=')))) env_text.push_back(kv);
  }
  for (const auto& [k, v] : env) env_text.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& kv : env_text) envp.push_back(kv.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_text = argv;
  std::vector<char*> args;
  for (auto& a : argv_text) args.push_back(a.data());
  args.push_back(nullptr);
  int master = -1;
  int slave = -1;
  REQUIRE(::openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(master);
    ::dup2(slave, STDOUT_FILENO);
    ::close(slave);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(slave);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, size_t(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EIO once the child has closed the terminal
    }
  }
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  return out;
}

v1::DatasetEntry people(const std::string& id) {
  v1::DatasetEntry e;
  e.set_id(id);
  e.set_name("测试人口 " + id);
  e.set_provider_agency("sjz-gongan");
  e.set_grade("general-3");
  e.set_open_attribute("closed");
  e.set_share_attribute("unconditional");
  e.set_update_frequency("daily");
  e.set_subject_kind("person");
  e.set_category("population");
  for (auto [name, pii] :
       {std::pair{"citizen_id", v1::PII_CITIZEN_ID}, std::pair{"name", v1::PII_NAME}}) {
    auto* f = e.add_fields();
    f->set_name(name);
    f->set_type(v1::FIELD_TYPE_TEXT);
    f->set_pii(pii);
    f->set_required(true);
  }
  return e;
}

v1::Record person(const std::string& key, const std::string& name) {
  v1::Record r;
  r.set_dataset("people.x");
  r.set_record_key(key);
  r.set_subject_id(citizen_id(1));
  r.set_observed_at_ms(kStartMs - 86'400'000LL);
  auto* f = r.add_fields();
  f->set_name("citizen_id");
  f->mutable_value()->set_text(citizen_id(1));
  f = r.add_fields();
  f->set_name("name");
  f->mutable_value()->set_text(name);
  return r;
}

TEST_CASE("control characters: escaped in gongshuctl's output, refused in names and keys") {
  FakeClock clock(kStartMs * 1'000'000);
  DaemonFixture f(FixtureOptions{&clock, ""});
  f.add_agency("sjz-gongan", "石家庄市公安局");

  // Refused at intake: an agency name, a dataset name, an enrolling agent's hostname.
  v1::ApiRequest agency;
  auto* a = agency.mutable_agency_add()->mutable_agency();
  a->set_id("sjz-x");
  a->set_name("石家庄\x1b[8m");
  a->set_type("government");
  a->set_region_code("130100");
  CHECK(f.op->call(agency).error().code() == v1::API_BAD_REQUEST);
  v1::ApiRequest bad_dataset;
  *bad_dataset.mutable_catalog_add()->mutable_entry() = people("people.bad");
  bad_dataset.mutable_catalog_add()->mutable_entry()->set_name("人口\xe2\x80\xae");
  CHECK(f.op->call(bad_dataset).error().code() == v1::API_BAD_REQUEST);
  {
    auto key = crypto::IdentityKey::generate();
    auto c = f.client(key);
    v1::ApiRequest enroll;
    enroll.mutable_enroll()->set_token(f.token("sjz-gongan"));
    enroll.mutable_enroll()->set_agent_public_key(key.public_key().hex());
    enroll.mutable_enroll()->set_hostname("host\x1b]0;owned\x07");
    auto r = c->call(enroll);
    CHECK(r.error().code() == v1::API_BAD_REQUEST);
    CHECK(contains(r.error().message(), "control characters"));
  }

  // Accepted: record text is the agency's data, kept as it came; a record key is refused.
  v1::ApiRequest ds;
  *ds.mutable_catalog_add()->mutable_entry() = people("people.x");
  REQUIRE(f.op->call(ds).error().code() == v1::API_OK);
  auto agent_key = f.enroll("sjz-gongan");
  TestAgent agent(f.ctx, agent_key, f.daemon->public_key(), f.daemon->ingest_endpoint(),
                  "sjz-gongan");
  agent.send(1, {person("p-1", kHostile), person("p-\x1b[2J", "李四")});
  auto ack = agent.ack();
  REQUIRE(ack);
  CHECK(ack->accepted() == 1);
  REQUIRE(ack->statuses_size() == 1);
  CHECK(ack->statuses(0).index() == 1);
  CHECK(ack->statuses(0).field() == "record_key");

  // The provider's own view through the real gongshuctl.
  std::string key_path = f.dir.file("gongan.key");
  auto kg = gongshu::testing::run_process(
      {kCtl, "keygen", "--kind", "agency", "--out", key_path, "--json"});
  REQUIRE(kg.exit_code == 0);
  auto pub = nlohmann::json::parse(kg.out).at("public_key").get<std::string>();
  v1::ApiRequest add;
  add.mutable_principal_add()->set_role("agency");
  add.mutable_principal_add()->set_agency("sjz-gongan");
  add.mutable_principal_add()->set_public_key(pub);
  add.mutable_principal_add()->set_name("测试");
  REQUIRE(f.op->call(add).error().code() == v1::API_OK);
  std::map<std::string, std::string> env = {{"GONGSHU_API", f.daemon->api_endpoint()},
                                            {"GONGSHU_DAEMON_KEY", f.daemon->public_key().hex()},
                                            {"GONGSHU_KEY", key_path}};
  RunResult table = gongshu::testing::run_process({kCtl, "query", "people.x"}, "", env);
  INFO("stdout: " << table.out << "\nstderr: " << table.err);
  REQUIRE(table.exit_code == 0);
  CHECK(contains(table.out, kShown));
  CHECK(!contains(table.out, "\x1b"));
  CHECK(!contains(table.out, "\xc2\x9b"));
  CHECK(!contains(table.out, "\xe2\x80\xae"));
  CHECK(!contains(table.err, "\x1b"));
  // --json keeps the value exactly, as JSON escapes; nothing raw reaches the terminal.
  RunResult j = gongshu::testing::run_process({kCtl, "query", "people.x", "--json"}, "", env);
  REQUIRE(j.exit_code == 0);
  CHECK(!contains(j.out, "\x1b"));
  CHECK(!contains(j.out, "\xe2\x80\xae"));
  auto parsed = nlohmann::json::parse(j.out);
  CHECK(parsed.dump().size() > 0);
  bool found = false;
  for (const auto& row : parsed.at("rows"))
    found = found || row.at("fields").at("name") == kHostile;
  CHECK(found);

  // --csv is data: to a file or a pipe the cell is the bytes stored; to a terminal, escaped.
  RunResult csv = gongshu::testing::run_process({kCtl, "query", "people.x", "--csv"}, "", env);
  INFO("csv: " << csv.out << csv.err);
  REQUIRE(csv.exit_code == 0);
  CHECK(contains(csv.out, "," + kHostile + "\n"));  // the name, the last column
  const std::string shown = run_on_terminal({kCtl, "query", "people.x", "--csv"}, env);
  INFO("on a terminal: " << shown);
  CHECK(contains(shown, kShown));
  CHECK(!contains(shown, "\x1b"));
  CHECK(!contains(shown, "\xc2\x9b"));
  CHECK(!contains(shown, "\xe2\x80\xae"));
}

}  // namespace
}  // namespace gongshu::ctl
