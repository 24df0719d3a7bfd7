#include "core/sys/log_limiter.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace gongshu::sys {
namespace {

using gongshu::testing::TempDir;

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST_CASE("a repeated message passes a few times a minute, then says how many it held back") {
  TempDir dir;
  int fd = ::open(dir.file("log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  {
    Logger log("gongshud", Logger::Target::kLine, fd);
    LogLimiter limiter(log, 3);
    const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
    for (int i = 0; i < 10'000; ++i)
      limiter.log(Level::kError, "protobuf", "complaint " + std::to_string(i), t0);
    limiter.log(Level::kWarning, "other", "another kind passes", t0);
    CHECK(limiter.held_back() == 9'997);
    // A minute later: one line saying how many were held back, then the message.
    limiter.log(Level::kError, "protobuf", "complaint again", t0 + std::chrono::seconds(61));
  }
  ::close(fd);
  auto lines = lines_of(dir.file("log"));
  REQUIRE(lines.size() == 6);
  CHECK(lines[0] == "gongshud: error: complaint 0");
  CHECK(lines[2] == "gongshud: error: complaint 2");
  CHECK(lines[3] == "gongshud: warning: another kind passes");
  CHECK(lines[4].find("9997 messages of kind 'protobuf' were held back") != std::string::npos);
  CHECK(lines[5] == "gongshud: error: complaint again");
}

}  // namespace
}  // namespace gongshu::sys
