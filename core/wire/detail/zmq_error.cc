#include "core/wire/detail/zmq_error.h"

#include <cerrno>
#include <string>

#include <zmq.h>

namespace gongshu::wire::detail {

Error zmq_error(std::string_view context, int err) {
  ErrorCode code = ErrorCode::kIo;
  switch (err) {
    case EINVAL:
    case EPROTONOSUPPORT:
    case ENOCOMPATPROTO:
    case ENODEV:
      code = ErrorCode::kInvalidArgument;
      break;
    case EADDRINUSE:
      code = ErrorCode::kAlreadyExists;
      break;
    case EHOSTUNREACH:
    case EAGAIN:
    case ECONNREFUSED:
    case EADDRNOTAVAIL:
      code = ErrorCode::kUnavailable;
      break;
    case EMFILE:
    case ENOMEM:
    case EMSGSIZE:
      code = ErrorCode::kResourceExhausted;
      break;
    case ETERM:
    case EFAULT:
    case ENOTSOCK:
      code = ErrorCode::kInternal;
      break;
    default:
      break;
  }
  std::string m(context);
  m.append(": ").append(zmq_strerror(err));
  return Error(code, std::move(m));
}

}  // namespace gongshu::wire::detail
