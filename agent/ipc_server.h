// The local socket for applications on the agency's machine: a Unix domain SOCK_SEQPACKET
// socket (no ZeroMQ: a local, connection-oriented, message-preserving socket needs no library,
// and the kernel tells us who the peer is). One request per message:
//
//   request  agentpb::SubmitRequest{request_id, record = serialised gongshu.v1.Record}
//   reply    agentpb::SubmitReply{request_id, accepted, code, field, reason}
//
// The reply comes only after the record (or its rejection) is durable in the spool, so an
// application that got `accepted` may forget the record. Clients may pipeline requests; replies
// come in request order per connection. Messages are at most kMaxIpcMessage bytes.
//
// Who may connect: the socket file is made mode 0660, and access is decided by the directory
// it lives in — make that directory (e.g. /run/gongshu-agent, created by the service's
// RuntimeDirectory=) 0750 and group-owned by the group of producing applications. Each record's
// source names the peer's uid and pid (SO_PEERCRED).
//
// IpcServer: one thread runs run(). IpcClient: a small blocking client (tests, tools).
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "agent/agent.pb.h"
#include "agent/intake.h"
#include "agent/spool.h"
#include "core/util/clock.h"
#include "core/util/fd.h"
#include "gongshu/v1/record.pb.h"

namespace gongshu::agent {

inline constexpr size_t kMaxIpcMessage = 128 * 1024;

// One message a client sent, decoded: its request id and record, or why it is refused (the
// reply's reason, with code RECORD_STATUS_MALFORMED) and what the rejection keeps of it.
struct IpcRequest {
  uint64_t request_id = 0;  // 0 when the message is not a SubmitRequest
  v1::Record record;
  std::string error;  // empty: decoded
  std::string raw;    // when refused: at most 256 bytes of the input
};
// `received` is the message's full length, which exceeds message.size() when recv truncated it.
// Pure; the bytes are untrusted.
IpcRequest decode_ipc_request(std::string_view message, size_t received);

class IpcServer {
 public:
  // Binds path (a stale socket file there is replaced; any other file is an error).
  static Result<IpcServer> bind(const std::string& path);
  IpcServer(IpcServer&&) noexcept = default;
  ~IpcServer();

  // Serves until stop is set.
  Status run(Spool& spool, const Clock& clock, const std::atomic<bool>& stop);

 private:
  IpcServer(Fd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  Fd fd_;
  std::string path_;
};

class IpcClient {
 public:
  static Result<IpcClient> connect(const std::string& path);
  // Sends one record and waits for its reply.
  Result<agentpb::SubmitReply> submit(const v1::Record& record);
  // Pipelining: send many, then read their replies in order.
  Status send(const v1::Record& record, uint64_t request_id);
  Result<agentpb::SubmitReply> receive();

 private:
  explicit IpcClient(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
  uint64_t next_id_ = 1;
};

}  // namespace gongshu::agent
