// zmq_error: turns a libzmq errno into an Error ("context: libzmq's message") with a code a
// caller can branch on. core/wire calls it wherever a libzmq call (C or cppzmq) fails, so no
// zmq::error_t leaves the module.
#pragma once

#include <string_view>

#include "core/util/error.h"

namespace gongshu::wire::detail {

// EINVAL/EPROTONOSUPPORT/ENOCOMPATPROTO -> kInvalidArgument, EADDRINUSE -> kAlreadyExists,
// EHOSTUNREACH/EAGAIN/ECONNREFUSED -> kUnavailable, EMFILE/ENOMEM/EMSGSIZE -> kResourceExhausted,
// ETERM/EFAULT/ENOTSOCK -> kInternal, anything else -> kIo.
Error zmq_error(std::string_view context, int err);

}  // namespace gongshu::wire::detail
