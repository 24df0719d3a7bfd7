// Codec: protobuf messages to and from the one-frame payloads of the channels (DESIGN §5). Input
// to decode is untrusted: its size is checked against the caller's limit before the parser sees
// a byte, and a parse failure is an error, never an exception or a half-filled message the
// caller might use.
//
// Free functions; thread-safe as far as the message objects passed in are not shared.
#pragma once

#include <cstddef>

#include <google/protobuf/message_lite.h>

#include "core/util/bytes.h"
#include "core/util/error.h"

namespace gongshu::wire {

// Serialises message. Fails (kResourceExhausted) above protobuf's 2 GiB limit, or
// (kInvalidArgument) if the message cannot be serialised (a proto2 required field unset).
Result<Bytes> encode(const google::protobuf::MessageLite& message);

// Parses bytes into out, which is cleared first. kResourceExhausted ("message of N bytes exceeds
// the limit of M") if bytes is larger than max_size, checked before parsing; kCorrupt if the
// bytes do not parse as out's type. On failure out is left cleared.
Status decode(ByteView bytes, size_t max_size, google::protobuf::MessageLite& out);

// decode() into a fresh message of type M.
template <typename M>
Result<M> decode_as(ByteView bytes, size_t max_size) {
  M message;
  GONGSHU_RETURN_IF_ERROR(decode(bytes, max_size, message));
  return message;
}

}  // namespace gongshu::wire
