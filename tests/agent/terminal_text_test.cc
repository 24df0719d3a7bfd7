// What gongshu-agent shows of rejected records on a terminal. A rejection's reason quotes the
// input — a column's name, a cell that did not parse — and an agency's file may hold ESC
// sequences (ESC[2J clears the screen) or a bidirectional override (U+202E reverses what
// follows). The human output of `submit` and `rejected list` shows them escaped
// (core/util/printable.h), --json as JSON escapes, and Chinese text as it is. The real binary
// against an in-process gongshud (tests/daemon/daemon_fixture.h).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/daemon/daemon_fixture.h"

namespace gongshu::agent {
namespace {

using daemon::testing::DaemonFixture;
using gongshu::testing::run_process;
using nlohmann::json;

const std::string kAgent = gongshu::testing::binary_path("bin/gongshu-agent");

// Bytes a terminal would act on: ESC, the C1 CSI (U+009B) and the right-to-left override.
bool has_raw_controls(const std::string& s) {
  return s.find('\x1b') != std::string::npos || s.find("\xc2\x9b") != std::string::npos ||
         s.find("\xe2\x80\xae") != std::string::npos;
}

TEST_CASE("agent: rejections quoting ESC[2J and U+202E are shown escaped, Chinese as it is") {
  DaemonFixture f;
  f.add_examples();
  const std::string config = f.dir.file("agent.toml");
  gongshu::testing::write_text(config, "[agent]\nstate_dir = \"" + f.dir.file("agent-state") +
                                           "\"\n[batch]\nmax_records = 100\nmax_delay_ms = 20\n");
  auto agent = [&](std::vector<std::string> args) {
    args.insert(args.begin(), kAgent);
    args.push_back("--config");
    args.push_back(config);
    return run_process(args);
  };
  auto en = agent({"enroll", f.token("sjz-gongan")});
  INFO(en.out << en.err);
  REQUIRE(en.exit_code == 0);
  REQUIRE(agent({"catalog", "refresh"}).exit_code == 0);

  // 户主 between a screen clear and a right-to-left override: a column nobody catalogued (the
  // file is refused at its header), a birth date that is not one (its row is refused), and a
  // JSON Lines record with a field of that name (refused, the reason naming the field).
  const std::string evil = "\x1b[2J户主\xe2\x80\xae";
  const std::string shown = "\\x1b[2J户主\\u202e";
  const std::string column_csv = f.dir.file("column.csv");
  gongshu::testing::write_text(column_csv, "record_key,citizen_id,name," + evil + "\nhh-1," +
                                               daemon::testing::citizen_id(1) + ",张三,x\n");
  const std::string cell_csv = f.dir.file("cell.csv");
  gongshu::testing::write_text(cell_csv, "record_key,citizen_id,name,birth_date\nhh-2," +
                                             daemon::testing::citizen_id(2) + ",李四," + evil +
                                             "\nhh-3," + daemon::testing::citizen_id(3) +
                                             ",王五,1990-01-02\n");
  const std::string field_jsonl = f.dir.file("field.jsonl");
  gongshu::testing::write_text(field_jsonl, R"({"record_key":"hh-4","fields":{"citizen_id":")" +
                                                daemon::testing::citizen_id(4) +
                                                R"(","name":"赵六","\u001b[2J户主\u202e":"x"}})"
                                                "\n");

  auto column = agent({"submit", "--dataset", "population.household", column_csv});
  INFO(column.out << column.err);
  CHECK(column.exit_code != 0);
  CHECK_FALSE(has_raw_controls(column.out + column.err));
  CHECK(column.err.find(shown) != std::string::npos);
  for (const auto& input : {cell_csv, field_jsonl}) {
    auto r = agent({"submit", "--dataset", "population.household", input});
    INFO(input << "\n" << r.out << r.err);
    CHECK(r.exit_code == 1);  // a row refused
    CHECK_FALSE(has_raw_controls(r.out + r.err));
    CHECK(r.err.find("户主\\u202e") != std::string::npos);
  }

  auto list = agent({"rejected", "list"});
  INFO(list.out << list.err);
  REQUIRE(list.exit_code == 0);
  CHECK_FALSE(has_raw_controls(list.out + list.err));
  // The field's name, escaped where a terminal would act and Chinese as it is.
  CHECK(list.out.find(shown) != std::string::npos);
  CHECK(list.out.find("birth_date") != std::string::npos);

  // --json: the same text, as JSON escapes; it parses back to the very bytes.
  auto js = agent({"rejected", "list", "--json"});
  INFO(js.out << js.err);
  REQUIRE(js.exit_code == 0);
  CHECK_FALSE(has_raw_controls(js.out));
  auto rows = json::parse(js.out);
  REQUIRE(rows.size() == 2);
  bool field_named = false, raw_kept = false;
  for (const auto& x : rows) {
    field_named = field_named || x.at("field") == evil;
    raw_kept = raw_kept || (x.contains("raw") &&
                            x.at("raw").get<std::string>().find(evil) != std::string::npos);
  }
  CHECK(field_named);
  CHECK(raw_kept);  // the refused line as it came, for fixing and submitting again
}

}  // namespace
}  // namespace gongshu::agent
