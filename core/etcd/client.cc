#include "core/etcd/client.h"

#include <utility>

#include "core/etcd/gateway.h"

namespace gongshu::etcd {
namespace {

using Clock = std::chrono::steady_clock;

ErrorCode code_for_grpc(int code) {
  switch (code) {
    case 3:
      return ErrorCode::kInvalidArgument;  // INVALID_ARGUMENT
    case 5:
      return ErrorCode::kNotFound;  // NOT_FOUND
    case 6:
      return ErrorCode::kAlreadyExists;  // ALREADY_EXISTS
    case 7:
      return ErrorCode::kPermissionDenied;  // PERMISSION_DENIED
    case 8:
      return ErrorCode::kResourceExhausted;  // RESOURCE_EXHAUSTED (e.g. quota)
    case 9:
      return ErrorCode::kInvalidArgument;  // FAILED_PRECONDITION (e.g. compacted)
    case 11:
      return ErrorCode::kInvalidArgument;  // OUT_OF_RANGE
    case 16:
      return ErrorCode::kUnauthenticated;  // UNAUTHENTICATED
    case 4:
    case 10:
    case 14:
      return ErrorCode::kUnavailable;  // DEADLINE, ABORTED, UNAVAILABLE
    default:
      return ErrorCode::kInternal;
  }
}

template <typename T>
Result<T> in_context(Result<T> r, const std::string& endpoint, std::string_view path) {
  if (r) return r;
  return tl::unexpected(
      std::move(r.error()).with_context("etcd " + endpoint + " " + std::string(path)));
}

}  // namespace

Result<Client> Client::create(std::vector<std::string> endpoints, Options options) {
  if (endpoints.empty()) return fail(ErrorCode::kInvalidArgument, "etcd: no endpoints given");
  if (options.request_timeout.count() <= 0 || options.connect_timeout.count() <= 0) {
    return fail(ErrorCode::kInvalidArgument, "etcd: timeouts must be positive");
  }
  std::vector<HttpConnection> connections;
  connections.reserve(endpoints.size());
  for (auto& e : endpoints) {
    GONGSHU_TRY(HttpConnection c, HttpConnection::create(std::move(e)));
    connections.push_back(std::move(c));
  }
  return Client(std::move(connections), options);
}

Result<std::string> Client::call(std::string_view path, std::string_view body, Repeat repeat,
                                 std::string* endpoint) {
  const auto deadline = Clock::now() + options_.request_timeout;
  std::string tried;  // "endpoint: reason; ..." of every attempt that failed
  const size_t n = connections_.size();
  for (size_t attempt = 0; attempt < n; ++attempt) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    HttpConnection& conn = connections_[current_];
    const std::string& url = conn.base_url();
    // A safe request leaves the endpoints it has not tried their share of the time, so one
    // member that accepts but never answers (cut off from its quorum) cannot use it all.
    auto budget = repeat == Repeat::kSafe ? left / static_cast<long>(n - attempt) : left;
    if (budget.count() <= 0) budget = left;
    auto reply = conn.post(path, body, budget, options_.connect_timeout, options_.max_reply_bytes);
    if (!reply) {
      const HttpFailure& f = reply.error();
      if (!tried.empty()) tried += "; ";
      tried += url + ": " + f.reason;
      current_ = (current_ + 1) % n;  // the next call starts elsewhere either way
      if (f.kind == HttpFailure::Kind::kTooLarge) {
        return fail(ErrorCode::kResourceExhausted,
                    "etcd " + url + " " + std::string(path) + ": " + f.reason);
      }
      if (f.kind == HttpFailure::Kind::kNotSent || repeat == Repeat::kSafe) continue;
      return fail(ErrorCode::kUnavailable, "etcd " + url + " " + std::string(path) + ": " +
                                               f.reason +
                                               " (the request may have been applied: read back)");
    }
    if (reply->status == 200) {
      if (endpoint != nullptr) *endpoint = url;
      return std::move(reply->body);
    }
    auto refusal = gateway::read_refusal(reply->body);
    std::string why =
        refusal ? refusal->message + " (gRPC code " + std::to_string(refusal->code) + ")"
                : "HTTP " + std::to_string(reply->status) + ": " + reply->body.substr(0, 200);
    // A member without a leader refuses before proposing anything: safe to ask the next one,
    // except for a transaction, where UNAVAILABLE also covers "request timed out" (maybe applied).
    if (refusal && refusal->code == gateway::kGrpcUnavailable && repeat == Repeat::kSafe) {
      if (!tried.empty()) tried += "; ";
      tried += url + ": " + why;
      current_ = (current_ + 1) % n;
      continue;
    }
    return fail(refusal ? code_for_grpc(refusal->code) : ErrorCode::kInternal,
                "etcd " + url + " " + std::string(path) + ": " + why);
  }
  if (tried.empty()) tried = "no time left to try";
  return fail(ErrorCode::kUnavailable,
              "etcd " + std::string(path) + ": no endpoint answered within " +
                  std::to_string(options_.request_timeout.count()) + " ms (" + tried + ")");
}

Result<LeaseId> Client::grant_lease(int64_t ttl_s) {
  if (ttl_s <= 0) return fail(ErrorCode::kInvalidArgument, "etcd lease ttl must be positive");
  std::string at;
  GONGSHU_TRY(std::string body,
              call("/v3/lease/grant", gateway::lease_grant_request(ttl_s), Repeat::kSafe, &at));
  return in_context(gateway::read_lease_grant(body), at, "/v3/lease/grant");
}

Result<int64_t> Client::keep_alive_once(LeaseId lease) {
  std::string at;
  GONGSHU_TRY(std::string body,
              call("/v3/lease/keepalive", gateway::lease_request(lease), Repeat::kSafe, &at));
  return in_context(gateway::read_keepalive(body), at, "/v3/lease/keepalive");
}

Result<bool> Client::revoke_lease(LeaseId lease) {
  auto body = call("/v3/lease/revoke", gateway::lease_request(lease), Repeat::kSafe);
  if (body) return true;
  if (body.error().code() == ErrorCode::kNotFound) return false;  // expired or revoked before
  return tl::unexpected(std::move(body.error()));
}

Result<std::optional<LeaseInfo>> Client::time_to_live(LeaseId lease, bool keys) {
  std::string at;
  GONGSHU_TRY(std::string body, call("/v3/lease/timetolive", gateway::lease_request(lease, keys),
                                     Repeat::kSafe, &at));
  return in_context(gateway::read_time_to_live(body), at, "/v3/lease/timetolive");
}

Result<GetResult> Client::get(std::string_view key) {
  std::string at;
  GONGSHU_TRY(std::string body,
              call("/v3/kv/range", gateway::range_request(key, std::nullopt), Repeat::kSafe, &at));
  GONGSHU_TRY(RangeResult range, in_context(gateway::read_range(body), at, "/v3/kv/range"));
  GetResult out;
  out.revision = range.revision;
  for (auto& kv : range.kvs) {
    if (kv.key == key) out.kv = std::move(kv);
  }
  if (!out.kv && !range.kvs.empty()) {
    return fail(ErrorCode::kCorrupt, "etcd " + at + " /v3/kv/range: answered another key");
  }
  return out;
}

Result<RangeResult> Client::get_prefix(std::string_view prefix) {
  std::string at;
  GONGSHU_TRY(
      std::string body,
      call("/v3/kv/range", gateway::range_request(prefix, prefix_end(prefix)), Repeat::kSafe, &at));
  return in_context(gateway::read_range(body), at, "/v3/kv/range");
}

Result<int64_t> Client::put(std::string_view key, std::string_view value,
                            std::optional<LeaseId> lease) {
  std::string at;
  GONGSHU_TRY(std::string body,
              call("/v3/kv/put", gateway::put_request(key, value, lease), Repeat::kSafe, &at));
  return in_context(gateway::read_put(body), at, "/v3/kv/put");
}

Result<DeleteResult> Client::delete_key(std::string_view key) {
  std::string at;
  GONGSHU_TRY(
      std::string body,
      call("/v3/kv/deleterange", gateway::delete_request(key, std::nullopt), Repeat::kSafe, &at));
  return in_context(gateway::read_delete(body), at, "/v3/kv/deleterange");
}

Result<TxnResult> Client::txn(const Txn& txn) {
  std::string at;
  GONGSHU_TRY(std::string body, call("/v3/kv/txn", gateway::txn_request(txn), Repeat::kOnce, &at));
  return in_context(gateway::read_txn(body), at, "/v3/kv/txn");
}

Result<CreateResult> Client::create_if_absent(std::string_view key, std::string_view value,
                                              std::optional<LeaseId> lease) {
  Txn t;
  t.require_absent(std::string(key))
      .on_success(Op::put(std::string(key), std::string(value), lease))
      .on_failure(Op::get(std::string(key)));
  GONGSHU_TRY(TxnResult r, txn(t));
  CreateResult out;
  out.created = r.succeeded;
  if (r.succeeded) {
    // The put was the transaction's only write: the store's revision after it is the key's
    // create_revision.
    out.revision = r.revision;
    return out;
  }
  if (r.results.size() != 1 || r.results[0].kind != Op::Kind::kRange ||
      r.results[0].kvs.size() != 1) {
    return fail(ErrorCode::kCorrupt,
                "etcd /v3/kv/txn: create_if_absent's compare failed but the key was not read back");
  }
  out.current = std::move(r.results[0].kvs[0]);
  out.revision = out.current->create_revision;
  return out;
}

}  // namespace gongshu::etcd
