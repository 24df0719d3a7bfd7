// Size limits shared by the channels and the codec. A limit here is about payload bytes, the
// bytes a caller hands to send() or gets from receive(); the channels translate it into what
// libzmq needs on the wire.
#pragma once

#include <cstddef>

namespace gongshu::wire {

// The payload limit a channel uses when its options do not say otherwise.
inline constexpr size_t kDefaultMaxMessageSize = size_t{16} << 20;

// Bytes a CURVE MESSAGE command adds to a payload on the wire: the 8-byte command name, the
// 8-byte short nonce, the flags byte and the 16-byte MAC. libzmq 4.3 applies ZMQ_MAXMSGSIZE to
// that wire frame, not to the decrypted payload (measured: with a limit of 1000, a 967-byte
// payload passes and a 968-byte one drops the connection), so a channel configured for N payload
// bytes sets ZMQ_MAXMSGSIZE to N + kCurveMessageOverhead.
inline constexpr size_t kCurveMessageOverhead = 33;

}  // namespace gongshu::wire
