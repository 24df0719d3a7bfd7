// gongshu-audit show, --help, --version and usage errors, driven through the real binary.
#include <catch2/catch.hpp>

#include "core/audit/checkpoint.h"
#include "core/audit/entry.h"
#include "core/util/encoding.h"
#include "tests/tools/audit/audit_fixture.h"

namespace gongshu::audit_test {
namespace {

using testing::run_process;

size_t count_lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

TEST_CASE("show: entries as text and JSON Lines") {
  auto key = test_key(1);
  testing::TempDir dir;
  TestLog log(key, "a", 10);
  log.append(25);
  std::string path = dir.file("a.export");
  log.export_to(path);  // entries 1..20 with checkpoints at 10 and 20

  auto all = run_process({kAudit, "show", path});
  CHECK(all.exit_code == 0);
  CHECK(contains(all.out, "entry 1\n"));
  CHECK(contains(all.out, "entry 20\n"));
  CHECK(!contains(all.out, "entry 21\n"));
  CHECK(contains(all.out, "checkpoint at tree size 10 (signature not checked here)\n"));
  CHECK(contains(all.out, "  signature:     \xe2\x80\x94 gongshu.test/audit "));

  auto e6 = audit::decode_entry(as_bytes(log.entry_bytes(6)));
  REQUIRE(e6);
  std::string prev5 = hex_encode(audit::entry_hash(as_bytes(log.entry_bytes(5))));
  std::string hash6 = hex_encode(audit::entry_hash(as_bytes(log.entry_bytes(6))));
  auto one = run_process({kAudit, "show", path, "--seq", "6"});
  CHECK(one.exit_code == 0);
  // Entry 6: 2026-01-15T08:30:00Z + 6 × 250 ms; n % 5 == 1 carries a policy decision.
  CHECK(one.out ==
        "entry 6\n"
        "  time:         2026-01-15T08:30:01.500Z\n"
        "  principal:    key id a07c19e4d2b8f3a1, role agency, agency civil-affairs\n"
        "  action:       query\n"
        "  dataset:      population.residents\n"
        "  purpose:      subsidy eligibility check\n"
        "  policy:       rule agency-own-purpose, version 2026.01.3\n"
        "  decision:     deny\n"
        "  records:      6\n"
        "  refs:         batch b-6\n"
        "  detail:       entry 6 of log a\n"
        "  prev_hash:    " +
            prev5 +
            "\n"
            "  entry_hash:   " +
            hash6 + "\n");

  auto json_one = run_process({kAudit, "show", path, "--seq", "6", "--json"});
  CHECK(json_one.exit_code == 0);
  CHECK(
      json_one.out ==
      "{\"type\":\"entry\",\"seq\":6,\"prev_hash\":\"" + prev5 + "\",\"entry_hash\":\"" + hash6 +
          "\",\"time_ms\":1768465801500,\"time\":\"2026-01-15T08:30:01.500Z\","
          "\"principal\":{\"key_id\":\"a07c19e4d2b8f3a1\",\"role\":\"agency\","
          "\"agency\":\"civil-affairs\"},\"action\":\"query\",\"dataset\":\"population.residents\","
          "\"purpose\":\"subsidy eligibility check\",\"policy_rule\":\"agency-own-purpose\","
          "\"policy_version\":\"2026.01.3\",\"decision\":\"deny\",\"record_count\":6,"
          "\"refs\":[{\"kind\":\"batch\",\"value\":\"b-6\"}],\"detail\":\"entry 6 of log a\"}\n");

  auto json_all = run_process({kAudit, "show", path, "--json"});
  CHECK(json_all.exit_code == 0);
  CHECK(count_lines(json_all.out) == 22);  // 20 entries, 2 checkpoints
  CHECK(contains(json_all.out, "{\"type\":\"checkpoint\","));
  CHECK(contains(json_all.out, "\"tree_size\":20,"));

  auto missing = run_process({kAudit, "show", path, "--seq", "21"});
  CHECK(missing.exit_code == 2);
  CHECK(contains(missing.err, "entry 21 is not in"));
  CHECK(run_process({kAudit, "show", dir.file("none")}).exit_code == 2);
}

TEST_CASE("show: text from an export cannot drive the terminal") {
  auto key = test_key(1);
  testing::TempDir dir;
  std::string path = dir.file("x.export");
  {
    // An export crafted by hand: one entry whose detail carries escape sequences.
    v1::AuditEntry e;
    e.set_action("query");
    e.set_detail(
        "\x1b]0;owned\x07\x1b[31mred\xc2\x9b"
        "2J\xe2\x80\xaemirrored");
    std::string bytes;
    audit::encode_entry(1, audit::Hash{}, e, &bytes);
    write_frames(path, {{1, bytes}});
  }
  auto r = run_process({kAudit, "show", path});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find('\x1b') == std::string::npos);
  CHECK(r.out.find('\x07') == std::string::npos);
  CHECK(r.out.find("\xc2\x9b") == std::string::npos);
  CHECK(r.out.find("\xe2\x80\xae") == std::string::npos);
  CHECK(
      contains(r.out, "  detail:       \\x1b]0;owned\\x07\\x1b[31mred\\u009b2J\\u202emirrored\n"));

  // A checkpoint note is not validated as UTF-8 by anyone; JSON output must stay valid.
  {
    v1::AuditEntry e;
    std::string bytes;
    audit::encode_entry(1, audit::Hash{}, e, &bytes);
    audit::CheckpointBody body{
        "bad\xff"
        "origin",
        1, audit::Hash{}, audit::entry_hash(as_bytes(bytes))};
    write_frames(path, {{1, bytes}, {2, audit::sign_checkpoint(body, key)}});
  }
  auto j = run_process({kAudit, "show", path, "--json"});
  CHECK(j.exit_code == 0);
  CHECK(j.out.find('\xff') == std::string::npos);
  CHECK(contains(j.out, "\"origin\":\"bad\xef\xbf\xbdorigin\""));
  auto t = run_process({kAudit, "show", path});
  CHECK(contains(t.out, "  origin:        bad\\xfforigin\n"));

  // Bytes that are not an AuditEntry are shown raw and make the exit status 1.
  write_frames(path, {{1, std::string("\x08\x01\x12\x20", 4) + std::string(32, '\0') + "\xff"}});
  auto bad = run_process({kAudit, "show", path});
  CHECK(bad.exit_code == 1);
  CHECK(contains(bad.out, "undecodable entry at byte offset 9"));
}

TEST_CASE("every command explains itself; usage errors exit 2") {
  for (std::string cmd : {"verify", "prove", "check-proof", "consistency", "prove-consistency",
                          "checkpoint", "show"}) {
    auto help = run_process({kAudit, cmd, "--help"});
    CHECK(help.exit_code == 0);
    CHECK(contains(help.out, "Exit status: 0"));
    CHECK(contains(help.out, "Usage:"));
  }
  auto top = run_process({kAudit, "--help"});
  CHECK(top.exit_code == 0);
  CHECK(contains(top.out, "check-proof"));
  auto version = run_process({kAudit, "--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.find("gongshu-audit ") == 0);

  CHECK(run_process({kAudit}).exit_code == 2);
  CHECK(run_process({kAudit, "frobnicate"}).exit_code == 2);
  CHECK(run_process({kAudit, "verify"}).exit_code == 2);
  CHECK(run_process({kAudit, "show", "x", "--seq", "abc"}).exit_code == 2);
  CHECK(run_process({kAudit, "show", "x", "--seq", "-3"}).exit_code == 2);
  CHECK(run_process({kAudit, "prove", "x", "--seq", "3"}).exit_code == 2);  // --out missing
  CHECK(run_process({kAudit, "consistency", "a", "b", "--key", "00"}).exit_code == 2);
}

}  // namespace
}  // namespace gongshu::audit_test
