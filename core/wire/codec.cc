#include "core/wire/codec.h"

#include <climits>
#include <exception>
#include <string>

namespace gongshu::wire {

Result<Bytes> encode(const google::protobuf::MessageLite& message) {
  try {
    size_t size = message.ByteSizeLong();
    if (size > static_cast<size_t>(INT_MAX)) {
      return fail(ErrorCode::kResourceExhausted, "encode " + message.GetTypeName() + ": " +
                                                     std::to_string(size) +
                                                     " bytes exceeds protobuf's 2 GiB limit");
    }
    Bytes out(size);
    if (!message.SerializeToArray(out.data(), static_cast<int>(size))) {
      return fail(ErrorCode::kInvalidArgument,
                  "encode " + message.GetTypeName() + ": the message cannot be serialised");
    }
    return out;
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInternal, "encode " + message.GetTypeName() + ": " + e.what());
  }
}

Status decode(ByteView bytes, size_t max_size, google::protobuf::MessageLite& out) {
  out.Clear();
  if (bytes.size() > max_size) {
    return fail(ErrorCode::kResourceExhausted,
                "decode " + out.GetTypeName() + ": message of " + std::to_string(bytes.size()) +
                    " bytes exceeds the limit of " + std::to_string(max_size));
  }
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return fail(ErrorCode::kResourceExhausted, "decode " + out.GetTypeName() + ": message of " +
                                                   std::to_string(bytes.size()) +
                                                   " bytes exceeds protobuf's 2 GiB limit");
  }
  bool parsed = false;
  try {
    parsed = out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  } catch (const std::exception& e) {
    out.Clear();
    return fail(ErrorCode::kInternal, "decode " + out.GetTypeName() + ": " + e.what());
  }
  if (!parsed) {
    out.Clear();
    return fail(ErrorCode::kCorrupt, "decode " + out.GetTypeName() + ": the " +
                                         std::to_string(bytes.size()) +
                                         " bytes do not parse as this message");
  }
  return {};
}

}  // namespace gongshu::wire
