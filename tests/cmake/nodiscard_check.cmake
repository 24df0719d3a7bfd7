# ctest result_nodiscard: a Result or Status that is dropped does not compile (core/util/error.h).
#
#   cmake -DSOURCE_DIR=... -DBINARY_DIR=... -DCXX=... -P nodiscard_check.cmake
#
# Each probe drops one outcome in a way code does: the call of a function, of a std::function,
# of a lambda, and of a member. Each must fail under -Werror (as every target of ours builds);
# the same calls with their outcome used must compile.
cmake_minimum_required(VERSION 3.25)

foreach(v SOURCE_DIR BINARY_DIR CXX)
  if(NOT ${v})
    message(FATAL_ERROR "nodiscard_check: -D${v}= is required")
  endif()
endforeach()

set(prelude "#include <functional>
#include \"core/util/error.h\"
using gongshu::Result;
using gongshu::Status;
Status f();
Result<int> g();
struct S { Status m(); };
std::function<Status()> h;
auto l = [] { return g(); };
")
# (Bodies hold semicolons, so they are numbered variables rather than one list.)
set(probe_1 "void x() { f(); }")
set(probe_2 "void x() { g(); }")
set(probe_3 "void x() { h(); }")
set(probe_4 "void x() { l(); }")
set(probe_5 "void x(S& s) { s.m(); }")
set(probe_6 "void x() { f().and_then([] { return f(); }); }")
set(control "bool x(S& s) { return f() && g() && h() && l() && s.m(); }")

set(probe ${BINARY_DIR}/nodiscard_probe.cc)
set(failures "")
function(compile body out)
  file(WRITE ${probe} "${prelude}${body}\n")
  execute_process(COMMAND ${CXX} -std=c++20 -Wall -Werror -fsyntax-only -I${SOURCE_DIR} ${probe}
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  set(${out} ${rc} PARENT_SCOPE)
  set(${out}_err "${err}" PARENT_SCOPE)
endfunction()

compile("${control}" ok)
if(NOT ok EQUAL 0)
  string(APPEND failures "\n  the control does not compile: ${ok_err}")
endif()
foreach(i RANGE 1 6)
  set(body "${probe_${i}}")
  compile("${body}" dropped)
  if(dropped EQUAL 0)
    string(APPEND failures "\n  compiles although it drops an outcome: ${body}")
  elseif(NOT dropped_err MATCHES "nodiscard|unused-result")
    string(APPEND failures "\n  fails for another reason than the dropped outcome: ${body}: ${dropped_err}")
  endif()
endforeach()
file(REMOVE ${probe})

# The other outcomes that carry a refusal or a failure by value are [[nodiscard]] too: a dropped
# Reply (api handlers' require(), admit()) lets a request through, a dropped batch::Checked an
# unverified batch in; a record's Verdict, a rate limiter's Outcome, the export verifier's
# report, a leadership campaign, renewal or sync write, an etcd HTTP reply, a powercut errno.
# One compile, warnings kept (no -Werror), each drop on its own line and each line warned.
set(outcomes_prelude "#include \"core/audit/verify.h\"
#include \"core/batch/batch.h\"
#include \"core/catalog/validate.h\"
#include \"core/cluster/leadership.h\"
#include \"core/etcd/http.h\"
#include \"daemon/api_context.h\"
#include \"daemon/rate_limiter.h\"
#include \"tools/powercut/disk.h\"
namespace cl = gongshu::cluster;
gongshu::daemon::Reply reply();
gongshu::batch::Checked<int> checked();
gongshu::catalog::Verdict verdict();
gongshu::daemon::RateLimiter::Outcome outcome();
gongshu::audit::VerifyReport report();
cl::CampaignOutcome campaign();
cl::RenewOutcome renew();
cl::SyncOutcome sync_write();
gongshu::powercut::Errno<int> errno_of();
")
set(outcomes reply checked verdict outcome report campaign renew sync_write errno_of)
set(outcomes_body "bool used(gongshu::etcd::HttpConnection& h) {
  return reply() && checked() && verdict().ok() && outcome().allowed && report().entries == 0 &&
         campaign().term == 0 && renew() == cl::RenewOutcome::kRenewed &&
         sync_write().mod_revision == 0 && errno_of() &&
         h.post(\"\", \"\", {}, {}, 0).has_value();
}
")
string(REGEX MATCHALL "\n" nl "${outcomes_prelude}${outcomes_body}")
list(LENGTH nl first_line)
math(EXPR first_line "${first_line} + 1")
set(drops "")
set(line ${first_line})
set(expected "")
foreach(o ${outcomes})
  string(APPEND drops "void drop_${o}() { ${o}(); }\n")
  list(APPEND expected "${line}:${o}")
  math(EXPR line "${line} + 1")
endforeach()
string(APPEND drops "void drop_post(gongshu::etcd::HttpConnection& h) { h.post(\"\", \"\", {}, {}, 0); }\n")
list(APPEND expected "${line}:post")
set(probe ${BINARY_DIR}/nodiscard_outcomes_probe.cc)
file(WRITE ${probe} "${outcomes_prelude}${outcomes_body}${drops}")
execute_process(COMMAND ${CXX} -std=c++20 -Wall -fsyntax-only -I${SOURCE_DIR} -I${BINARY_DIR}
                        -I${BINARY_DIR}/protocol ${probe}
                RESULT_VARIABLE rc ERROR_VARIABLE err)
file(REMOVE ${probe})
if(NOT rc EQUAL 0)
  string(APPEND failures "\n  the outcomes' probe does not compile: ${err}")
else()
  foreach(e ${expected})
    string(REPLACE ":" ";" e "${e}")
    list(GET e 0 l)
    list(GET e 1 o)
    if(NOT err MATCHES "nodiscard_outcomes_probe.cc:${l}:[0-9]+: [^\n]*(nodiscard|unused-result)")
      string(APPEND failures "\n  dropping ${o}() compiles without a warning")
    endif()
  endforeach()
endif()

if(failures)
  message(FATAL_ERROR "Result/Status and the other outcomes must be [[nodiscard]]:${failures}")
endif()
message(STATUS "nodiscard: 6 ways of dropping a Result or Status fail to compile; dropping any "
               "of 10 other outcomes is warned (an error under -Werror)")
