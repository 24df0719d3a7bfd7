// Error and Result<T>: how a failure that can happen travels up the stack.
//
// A function that can fail for a reason outside the program's control (I/O, bad input, a full
// map, an unauthenticated peer) returns Result<T>. The Error carries a small code, for callers
// that branch on the kind of failure, and a "context: reason" message for people. Each layer that
// adds meaning prepends its context with Error::with_context(); nobody logs and returns the same
// error. Broken invariants are not Errors: they are GONGSHU_CHECK failures (core/util/check.h).
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <tl/expected.hpp>

namespace gongshu {

enum class ErrorCode {
  kInvalidArgument,    // the input is malformed or violates a rule
  kNotFound,           // a named thing does not exist
  kAlreadyExists,      // refusing to overwrite or duplicate
  kPermissionDenied,   // the filesystem or policy forbids it
  kUnauthenticated,    // a signature, MAC or key check failed
  kIo,                 // the OS said no (errno in the message)
  kCorrupt,            // stored or received bytes do not parse or do not verify
  kResourceExhausted,  // a size limit, a full map, a quota
  kUnavailable,        // a peer or service cannot be reached now; retrying may help
  kInternal,           // a library failed in a way we did not expect
};

std::string_view error_code_name(ErrorCode code);

class [[nodiscard]] Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns this error with "context: " prepended to the message.
  Error with_context(std::string_view context) && {
    std::string m;
    m.reserve(context.size() + 2 + message_.size());
    m.append(context).append(": ").append(message_);
    return Error(code_, std::move(m));
  }

 private:
  ErrorCode code_;
  std::string message_;
};

// Expected<T, E> is a tl::expected<T, E> that cannot be ignored: it is [[nodiscard]], so calling a
// function that returns one and dropping its outcome does not compile (-Werror). It adds nothing
// else; it converts to and from tl::expected<T, E>, and and_then() over a callable returning an
// Expected yields an Expected. Every outcome that carries a failure by value is one, through an
// alias (an alias of tl::expected itself could not carry the attribute; an alias of this class
// keeps it): Result<T> here, daemon::Reply, batch::Checked<T>, powercut::Errno<T>. Where
// dropping an outcome is truly right, say why beside a `(void)` cast.
template <class T, class E>
class [[nodiscard]] Expected : public tl::expected<T, E> {
 public:
  using Base = tl::expected<T, E>;
  using Base::Base;

  Expected() = default;
  // The base's own copy and move constructors are not inherited, so a tl::expected produced by
  // map() or map_error() needs these to become an Expected again.
  Expected(const Base& e) : Base(e) {}
  Expected(Base&& e) : Base(std::move(e)) {}
};

// Result<T>: a value, or the Error saying why there is none.
template <typename T>
using Result = Expected<T, Error>;

// Status is a Result carrying no value.
using Status = Result<void>;

inline tl::unexpected<Error> fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error(code, std::move(message)));
}

// Builds "context: strerror(errno)" with code kIo (or kNotFound / kPermissionDenied when errno
// says so). Call it right after the failing system call.
tl::unexpected<Error> fail_errno(std::string_view context, int err);

// Adds context to the error of a failed Result and passes a successful one through.
template <typename T>
Result<T> with_context(Result<T> r, std::string_view context) {
  if (!r) return tl::unexpected<Error>(std::move(r.error()).with_context(context));
  return r;
}

}  // namespace gongshu

// tl::expected's and_then() and or_else() insist the callable returns a tl::expected; an Expected
// is one, so tell its trait.
namespace tl::detail {
template <typename T, typename E>
struct is_expected_impl<::gongshu::Expected<T, E>> : std::true_type {};
}  // namespace tl::detail

#define GONGSHU_CONCAT_INNER(a, b) a##b
#define GONGSHU_CONCAT(a, b) GONGSHU_CONCAT_INNER(a, b)

// GONGSHU_TRY(auto x, expr): evaluates expr (a Result); on failure returns its error from the
// enclosing function, otherwise binds the value to the declaration on the left.
#define GONGSHU_TRY(decl, expr) \
  GONGSHU_TRY_IMPL(GONGSHU_CONCAT(gongshu_try_, __COUNTER__), decl, expr)
#define GONGSHU_TRY_IMPL(tmp, decl, expr)                                    \
  auto tmp = (expr);                                                         \
  if (!tmp) return tl::unexpected<::gongshu::Error>(std::move(tmp).error()); \
  decl = std::move(*tmp)

// GONGSHU_RETURN_IF_ERROR(expr): evaluates a Result and returns its error on failure.
#define GONGSHU_RETURN_IF_ERROR(expr) \
  GONGSHU_RETURN_IF_ERROR_IMPL(GONGSHU_CONCAT(gongshu_status_, __COUNTER__), expr)
#define GONGSHU_RETURN_IF_ERROR_IMPL(tmp, expr)                                \
  do {                                                                         \
    auto tmp = (expr);                                                         \
    if (!tmp) return tl::unexpected<::gongshu::Error>(std::move(tmp).error()); \
  } while (0)
