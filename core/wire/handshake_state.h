// HandshakeState: what a ClientChannel knows about its connection to the daemon, from the socket
// monitor's events. It lets the agent say "daemon refused our key (not enrolled or revoked)" and
// lets `status` say "daemon reachable" without sending anything.
#pragma once

#include <string_view>

namespace gongshu::wire {

enum class HandshakeState {
  kNotConnected,  // no handshake has completed yet: connecting, or the daemon is unreachable
  kConnected,     // the last handshake succeeded and the connection is up: the daemon is reachable
  kRefused,       // the daemon refused our key at the handshake (ZAP said 400 or 500: not
                  // enrolled, or revoked). libzmq does not retry; make a new ClientChannel.
  kFailed,        // the last handshake failed for another reason (wrong daemon key, not a
                  // gongshu daemon, protocol error); libzmq keeps retrying
  kDisconnected,  // a connection that had completed its handshake was lost; libzmq reconnects
};

std::string_view handshake_state_name(HandshakeState state);

}  // namespace gongshu::wire
