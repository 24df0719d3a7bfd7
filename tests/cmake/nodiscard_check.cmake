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

if(failures)
  message(FATAL_ERROR "Result/Status must be [[nodiscard]]:${failures}")
endif()
message(STATUS "nodiscard: 6 ways of dropping a Result or Status fail to compile")
