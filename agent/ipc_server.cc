#include "agent/ipc_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "core/util/i18n.h"

namespace gongshu::agent {
namespace {

constexpr size_t kMaxClients = 256;
constexpr size_t kMaxRequestsPerCommit = 4096;

Result<sockaddr_un> address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof a.sun_path) {
    return fail(ErrorCode::kInvalidArgument, trf("ipc socket path '{}' is too long", path));
  }
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

struct Client {
  Fd fd;
  std::string source;
};

struct Pending {
  int fd;
  agentpb::SubmitReply reply;
};

bool send_reply(int fd, const std::string& out) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (::send(fd, out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return true;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 1000) <= 0) return false;
  }
  return false;
}

}  // namespace

IpcRequest decode_ipc_request(std::string_view message, size_t received) {
  IpcRequest out;
  agentpb::SubmitRequest req;
  if (received > kMaxIpcMessage ||
      !req.ParseFromArray(message.data(), static_cast<int>(message.size()))) {
    // The reply's reason and the stored rejection's: protocol and stored text (po/README.md).
    out.error = received > kMaxIpcMessage ? "message larger than 128 KiB"  // i18n-exempt
                                          : "not a SubmitRequest";         // i18n-exempt
    out.raw = std::string(message.substr(0, 256));
    return out;
  }
  out.request_id = req.request_id();
  if (!out.record.ParseFromString(req.record())) {
    out.record.Clear();
    out.error = "the record bytes are not a gongshu.v1.Record";  // i18n-exempt: as above
    out.raw = req.record().substr(0, 256);
  }
  return out;
}

Result<IpcServer> IpcServer::bind(const std::string& path) {
  GONGSHU_TRY(sockaddr_un a, address(path));
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return fail(ErrorCode::kAlreadyExists,
                  trf("ipc socket {}: a non-socket file is there", path));
    }
    ::unlink(path.c_str());  // stale socket of an earlier run
  }
  Fd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return fail_errno(tr("ipc socket"), errno);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    return fail_errno(trf("ipc socket {}: bind", path), errno);
  }
  ::chmod(path.c_str(), 0660);
  if (::listen(fd.get(), 64) != 0) return fail_errno(trf("ipc socket {}: listen", path), errno);
  return IpcServer(std::move(fd), path);
}

IpcServer::~IpcServer() {
  if (fd_.valid()) ::unlink(path_.c_str());
}

Status IpcServer::run(Spool& spool, const Clock& clock, const std::atomic<bool>& stop) {
  Intake intake(spool, clock);
  std::map<int, Client> clients;
  std::vector<char> buf(kMaxIpcMessage + 1);
  while (!stop.load()) {
    std::vector<pollfd> fds;
    fds.push_back({fd_.get(), POLLIN, 0});
    for (auto& [fd, c] : clients) fds.push_back({fd, POLLIN, 0});
    int r = ::poll(fds.data(), fds.size(), 100);
    if (r < 0 && errno != EINTR) return fail_errno(tr("ipc: poll"), errno);
    if (r <= 0) continue;
    if (fds[0].revents & POLLIN) {
      while (clients.size() < kMaxClients) {
        int c = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) break;
        ucred cred{};
        socklen_t len = sizeof cred;
        std::string source = "ipc";
        if (::getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
          source = "ipc:uid=" + std::to_string(cred.uid) + ",pid=" + std::to_string(cred.pid);
        }
        clients.emplace(c, Client{Fd(c), source});
      }
    }
    GONGSHU_RETURN_IF_ERROR(intake.refresh_catalog());
    std::vector<Pending> replies;
    std::vector<int> closed;
    for (size_t i = 1; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      int fd = fds[i].fd;
      Client& client = clients.at(fd);
      while (replies.size() < kMaxRequestsPerCommit) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
        if (n <= 0) {
          closed.push_back(fd);
          break;
        }
        IpcRequest req = decode_ipc_request(
            std::string_view(buf.data(), std::min(size_t(n), buf.size())), size_t(n));
        Pending p{fd, {}};
        p.reply.set_request_id(req.request_id);
        if (!req.error.empty()) {
          p.reply.set_code(v1::RECORD_STATUS_MALFORMED);
          p.reply.set_reason(req.error);
          intake.add_rejection("", v1::RECORD_STATUS_MALFORMED, "", req.error, client.source,
                               req.raw);
        } else {
          catalog::Verdict v = intake.add(req.record, client.source);
          p.reply.set_accepted(v.ok());
          p.reply.set_code(v.code);
          p.reply.set_field(v.field);
          p.reply.set_reason(v.reason);
        }
        replies.push_back(std::move(p));
      }
    }
    if (!replies.empty()) {
      if (auto s = intake.commit(); !s) {
        // Nothing of this group is stored: say so, so the applications try again.
        for (auto& p : replies) {
          p.reply.set_accepted(false);
          p.reply.set_code(v1::RECORD_STATUS_ACCEPTED);
          p.reply.set_reason("the agent could not store the record now (" +  // i18n-exempt
                             s.error().message() + "); try again");  // i18n-exempt: protocol
        }
        intake.discard();
      }
      for (const auto& p : replies) {
        std::string out;
        p.reply.SerializeToString(&out);
        // A client that does not read its replies (for a second) loses its connection.
        if (!send_reply(p.fd, out)) closed.push_back(p.fd);
      }
    }
    for (int fd : closed) clients.erase(fd);
  }
  return {};
}

Result<IpcClient> IpcClient::connect(const std::string& path) {
  GONGSHU_TRY(sockaddr_un a, address(path));
  Fd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail_errno(tr("ipc socket"), errno);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    return fail_errno(trf("ipc connect {}", path), errno);
  }
  return IpcClient(std::move(fd));
}

Status IpcClient::send(const v1::Record& record, uint64_t request_id) {
  agentpb::SubmitRequest req;
  req.set_request_id(request_id);
  record.SerializeToString(req.mutable_record());
  std::string out;
  req.SerializeToString(&out);
  if (out.size() > kMaxIpcMessage) {
    return fail(ErrorCode::kResourceExhausted, tr("ipc: record larger than 128 KiB"));
  }
  if (::send(fd_.get(), out.data(), out.size(), MSG_NOSIGNAL) < 0) {
    return fail_errno(tr("ipc send"), errno);
  }
  return {};
}

Result<agentpb::SubmitReply> IpcClient::receive() {
  std::vector<char> buf(kMaxIpcMessage);
  ssize_t n;
  do {
    n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno(tr("ipc receive"), errno);
  if (n == 0) return fail(ErrorCode::kUnavailable, tr("ipc: the agent closed the connection"));
  agentpb::SubmitReply reply;
  if (!reply.ParseFromArray(buf.data(), int(n))) {
    return fail(ErrorCode::kCorrupt, tr("ipc: undecodable reply"));
  }
  return reply;
}

Result<agentpb::SubmitReply> IpcClient::submit(const v1::Record& record) {
  uint64_t id = next_id_++;
  GONGSHU_RETURN_IF_ERROR(send(record, id));
  return receive();
}

}  // namespace gongshu::agent
