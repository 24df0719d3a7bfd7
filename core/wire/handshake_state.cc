#include "core/wire/handshake_state.h"

namespace gongshu::wire {

std::string_view handshake_state_name(HandshakeState state) {
  switch (state) {
    case HandshakeState::kNotConnected:
      return "not connected";
    case HandshakeState::kConnected:
      return "connected";
    case HandshakeState::kRefused:
      return "refused";
    case HandshakeState::kFailed:
      return "failed";
    case HandshakeState::kDisconnected:
      return "disconnected";
  }
  return "unknown";
}

}  // namespace gongshu::wire
