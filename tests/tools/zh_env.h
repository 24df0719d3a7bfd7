// The environment the Chinese-interface tests (ctl_zh_test, zh_services_test) run the real
// binaries in, and the small helpers both use.
#pragma once

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace gongshu::testing::zh {

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A desktop session's locale: LANG only (LANGUAGE, LC_ALL and LC_MESSAGES empty, which the C
// library takes as unset), whatever the test runner's own environment says; log lines on stderr,
// not the journal, even when the runner itself runs under systemd.
inline std::map<std::string, std::string> lang(const std::string& l,
                                               std::map<std::string, std::string> more = {}) {
  more["LANG"] = l;
  more["LANGUAGE"] = "";
  more["LC_ALL"] = "";
  more["LC_MESSAGES"] = "";
  more["INVOCATION_ID"] = "";
  more["JOURNAL_STREAM"] = "";
  return more;
}

inline RunResult run(std::vector<std::string> argv, const std::map<std::string, std::string>& env) {
  RunResult r = run_process(argv, "", env);
  INFO("exit " << r.exit_code << "\nstdout: " << r.out << "\nstderr: " << r.err);
  return r;
}

}  // namespace gongshu::testing::zh
