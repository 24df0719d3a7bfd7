#include "core/sys/logger.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/support/test_support.h"

namespace gongshu::sys {
namespace {

using gongshu::testing::TempDir;

std::string stream_of(int fd) {
  struct stat st {};
  REQUIRE(::fstat(fd, &st) == 0);
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

TEST_CASE("detect_target picks the journal only under systemd") {
  TempDir dir;
  int fd = ::open(dir.file("err").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  int other = ::open(dir.file("other").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(other >= 0);
  CHECK(detect_target(nullptr, nullptr, fd) == Logger::Target::kLine);
  CHECK(detect_target(stream_of(fd).c_str(), nullptr, fd) == Logger::Target::kJournal);
  // JOURNAL_STREAM inherited by a process whose stderr was redirected elsewhere.
  CHECK(detect_target(stream_of(other).c_str(), nullptr, fd) == Logger::Target::kLine);
  CHECK(detect_target("garbage", nullptr, fd) == Logger::Target::kLine);
  CHECK(detect_target("12:", nullptr, fd) == Logger::Target::kLine);
  CHECK(detect_target(nullptr, "5f0e5e1f7a0b4c5e9f1d2c3b4a596877", fd) == Logger::Target::kJournal);
  CHECK(detect_target(nullptr, "", fd) == Logger::Target::kLine);
  ::close(fd);
  ::close(other);
}

TEST_CASE("journal field names follow the journal's rules") {
  CHECK(valid_field_name("GONGSHU_DATASET"));
  CHECK(valid_field_name("GONGSHU_AUDIT_SEQ"));
  CHECK(valid_field_name("A1"));
  CHECK_FALSE(valid_field_name(""));
  CHECK_FALSE(valid_field_name("_PID"));  // trusted fields are journald's to set
  CHECK_FALSE(valid_field_name("1ABC"));
  CHECK_FALSE(valid_field_name("gongshu_dataset"));
  CHECK_FALSE(valid_field_name("GONGSHU-DATASET"));
  CHECK_FALSE(valid_field_name(std::string(65, 'A')));
  CHECK(valid_field_name(std::string(64, 'A')));
  CHECK_FALSE(valid_field_name("MESSAGE"));
  CHECK_FALSE(valid_field_name("PRIORITY"));
  CHECK_FALSE(valid_field_name("SYSLOG_IDENTIFIER"));
}

TEST_CASE("line format: identifier, level, message, fields; control characters escaped") {
  CHECK(format_line("gongshud", Level::kInfo, "ready", {}) == "gongshud: ready\n");
  CHECK(format_line("gongshud", Level::kWarning, "reload refused", {}) ==
        "gongshud: warning: reload refused\n");
  CHECK(format_line("gongshud", Level::kError, "boom", {}) == "gongshud: error: boom\n");
  CHECK(format_line("gongshud", Level::kNotice, "batch stored",
                    {{"GONGSHU_AGENT", "0c1f2e3d4c5b6a79"}, {"GONGSHU_AUDIT_SEQ", "42"}}) ==
        "gongshud: batch stored [GONGSHU_AGENT=0c1f2e3d4c5b6a79 GONGSHU_AUDIT_SEQ=42]\n");
  // A value from outside cannot end the line and forge another one.
  CHECK(format_line("gongshud", Level::kInfo, "rejected",
                    {{"GONGSHU_DATASET", "x\ngongshud: ready\t\x01"}}) ==
        "gongshud: rejected [GONGSHU_DATASET=x\\ngongshud: ready\\t\\x01]\n");
  // UTF-8 passes through untouched.
  CHECK(format_line("gongshud", Level::kInfo, "户籍 张三", {}) == "gongshud: 户籍 张三\n");
}

TEST_CASE("the line target writes whole lines to its descriptor and honours the level") {
  TempDir dir;
  int fd = ::open(dir.file("log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  Logger log("gongshud", Logger::Target::kLine, fd);
  log.info("one", {{"GONGSHU_DATASET", "population.household"}});
  log.debug("hidden");
  log.set_min_level(Level::kDebug);
  log.debug("shown");
  log.set_min_level(Level::kWarning);
  log.notice("hidden too");
  log.error("two");
  ::close(fd);
  CHECK(gongshu::testing::read_text(dir.file("log")) ==
        "gongshud: one [GONGSHU_DATASET=population.household]\n"
        "gongshud: debug: shown\n"
        "gongshud: error: two\n");
}

TEST_CASE("the journal target falls back to the descriptor when there is no journal") {
  struct stat st {};
  if (::stat("/run/systemd/journal/socket", &st) == 0) {
    WARN("a journal is running on this machine; fallback not exercised");
    return;
  }
  TempDir dir;
  int fd = ::open(dir.file("log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  Logger log("gongshud", Logger::Target::kJournal, fd);
  CHECK(log.target() == Logger::Target::kLine);
  log.warning("no journal here", {{"GONGSHU_DATASET", "d"}});
  ::close(fd);
  CHECK(gongshu::testing::read_text(dir.file("log")) ==
        "gongshud: warning: no journal here [GONGSHU_DATASET=d]\n");
}

}  // namespace
}  // namespace gongshu::sys
