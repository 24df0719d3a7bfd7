// A day's backlog, as an agency has it after an outage (issue 13, item 5): 1,000,000 rows
// submitted to the spool (past 256 MiB, the map the old spool started with and grew under live
// transactions, crashing inside liblmdb), then drained by `gongshu-agent run` into a real
// gongshud whose store passes 1 GiB (the map the old daemon started with) while an operator
// reads its status the whole time. Everything must arrive exactly once; nothing may crash.
#include <signal.h>
#include <sys/stat.h>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>

#include "core/ids/citizen_id.h"
#include "core/util/clock.h"
#include "tests/integration/platform.h"
#include "tests/support/test_support.h"

namespace gongshu::testing {
namespace {

uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// n households with a long name (~600 bytes of Chinese), so that the backlog is as large in
// bytes as a real day's.
void write_long_households(const std::string& path, int n) {
  std::ofstream out(path);
  std::string name;
  for (int i = 0; i < 200; ++i) name += "张";
  for (int i = 0; i < n; ++i) {
    CivilDate d = civil_from_days(days_from_civil({1950, 1, 1}) + (i / 1000) % 20000);
    char body[32];
    std::snprintf(body, sizeof body, "130102%04d%02u%02u%03d", d.year, d.month, d.day, i % 1000);
    std::string cid = std::string(body) + *ids::citizen_id_check_char(body);
    out << "{\"record_key\":\"hh-" << i << "\",\"fields\":{\"citizen_id\":\"" << cid
        << "\",\"name\":\"" << name << "\",\"household_size\":" << (i % 7 + 1) << "}}\n";
  }
}

TEST_CASE("a million-record backlog drains through gongshu-agent run into a store past 1 GiB",
          "[large]") {
  constexpr int kRows = 1'000'000;
  Platform p;
  const std::string cfg = p.enroll_agent("sjz-gongan", "backlog");
  const std::string file = p.dir.file("backlog.jsonl");
  write_long_households(file, kRows);
  auto t0 = std::chrono::steady_clock::now();
  auto submitted = p.agent(cfg, {"submit", "--dataset", kHouseholds, file});
  INFO(submitted.out << submitted.err);
  REQUIRE(submitted.exit_code == 0);
  auto t1 = std::chrono::steady_clock::now();
  const uint64_t spool = file_size(p.dir.file("agent-backlog/spool/data.mdb"));
  CHECK(spool > (uint64_t{256} << 20));  // past the old spool's first map

  auto agent = p.run_agent(cfg);
  // An operator watching the drain: gongshuctl reading the store (a read transaction beside
  // the writer's) four times a second.
  uint64_t reads = 0;
  auto next_read = std::chrono::steady_clock::now();
  bool drained = wait_until(
      [&] {
        if (std::chrono::steady_clock::now() < next_read) return false;
        next_read = std::chrono::steady_clock::now() + std::chrono::milliseconds(250);
        ++reads;
        REQUIRE(agent->running());
        return p.counts(kHouseholds).records >= kRows;
      },
      std::chrono::seconds(600));
  auto t2 = std::chrono::steady_clock::now();
  INFO(read_text(cfg + ".log"));
  REQUIRE(drained);
  auto c = p.counts(kHouseholds);
  CHECK(c.records == kRows);
  CHECK(c.versions == kRows);
  const uint64_t store = file_size(p.dir.file("state/store/data.mdb"));
  CHECK(store > (uint64_t{1} << 30));  // past the old daemon's first map
  CHECK(agent->running());
  CHECK(p.daemon_running());
  auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
  WARN("backlog: " << kRows << " rows, spool " << (spool >> 20) << " MiB, submitted in "
                   << secs(t1 - t0) << " s, drained in " << secs(t2 - t1) << " s ("
                   << kRows / secs(t2 - t1) << " records/s) with " << reads
                   << " status reads beside it; store " << (store >> 20) << " MiB");
  agent->signal(SIGTERM);
  CHECK(agent->wait() == 0);
}

}  // namespace
}  // namespace gongshu::testing
