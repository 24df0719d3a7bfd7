// GONGSHU_CHECK: the response to a broken invariant (a transaction used after commit, a library
// that cannot initialise). It prints file:line and the condition to stderr and aborts, in every
// build type. It is never used for input from outside; that is what Result is for.
#pragma once

namespace gongshu::detail {
[[noreturn]] void check_failed(const char* file, int line, const char* cond, const char* msg);
}  // namespace gongshu::detail

#define GONGSHU_CHECK(cond) \
  ((cond) ? (void)0 : ::gongshu::detail::check_failed(__FILE__, __LINE__, #cond, nullptr))

#define GONGSHU_CHECK_MSG(cond, msg) \
  ((cond) ? (void)0 : ::gongshu::detail::check_failed(__FILE__, __LINE__, #cond, (msg)))
