// Text encodings of bytes: hex (keys, hashes), base64 (C2SP notes, tokens), Z85 (ZeroMQ keys).
// Decoders treat their input as untrusted: any bad character or length is an Error that says
// where and why, never a crash.
#pragma once

#include <string>
#include <string_view>

#include "core/util/bytes.h"
#include "core/util/error.h"

namespace gongshu {

std::string hex_encode(ByteView data);  // lowercase
Result<Bytes> hex_decode(std::string_view text);

std::string base64_encode(ByteView data);  // RFC 4648 standard alphabet, with padding
Result<Bytes> base64_decode(std::string_view text);

// Z85 (ZeroMQ RFC 32): the input length must be a multiple of 4 (encode) or 5 (decode).
Result<std::string> z85_encode(ByteView data);
Result<Bytes> z85_decode(std::string_view text);

}  // namespace gongshu
