// Client: gongshu's one door to etcd, spoken through etcd's documented v3 JSON gateway
// (POST /v3/kv/range, /v3/kv/put, /v3/kv/deleterange, /v3/kv/txn, /v3/lease/grant,
// /v3/lease/keepalive, /v3/lease/revoke, /v3/lease/timetolive; the JSON in core/etcd/gateway.h)
// over HTTP with libcurl (core/etcd/http.h).
//
// Values and errors. What etcd answers about the data is a value: a key that is absent
// (GetResult::kv empty), a transaction whose compares failed (TxnResult::succeeded false), a
// key someone else created first (CreateResult::created false), a lease that has expired
// (keep_alive_once() 0, time_to_live() nullopt, revoke_lease() false). An Error is only "etcd
// could not be asked" or "etcd refused the request": no endpoint reachable in time
// (kUnavailable), etcd's refusal (its gRPC code mapped to an ErrorCode, with etcd's message),
// or a reply that does not parse (kCorrupt). Every message names the endpoint and the reason,
// e.g. "etcd http://127.0.0.1:23790 /v3/kv/put: etcdserver: requested lease not found".
//
// Time. Every call returns within Options::request_timeout, however many endpoints it tries
// (at most connect_timeout of it to connect; a request safe to repeat gives each endpoint it
// has yet to try an equal share of what is left, a transaction all of it). There are
// no background threads and no retries after the budget: a caller that keeps a lease alive
// calls keep_alive_once() from its own loop and steps down when that fails.
//
// Endpoints and failover. The client talks to one endpoint at a time, starting with the one
// that last answered (the first in the list at birth). When it cannot connect to it, or the
// member answers "unavailable" (it has no leader, or is stopping), the call moves on to the
// next endpoint in the list, and the next call starts there. Requests that are safe to repeat
// (everything but txn() and create_if_absent()) also move on when the connection fails or
// times out mid-request; a transaction whose request may have reached etcd is never sent
// twice: its Error says the outcome is unknown, and the caller reads the state back. Ranges
// are linearizable (etcd's default), so a member cut off from its quorum cannot serve a stale
// read: it times out or says unavailable, and the client moves on.
//
// etcd's own failover: while etcd elects a new raft leader (1-2.6 s with its default 1 s
// election timeout, measured in tests/core/etcd) writes and linearizable reads wait on every
// member; a call whose budget is shorter fails with kUnavailable and the next one succeeds.
//
// Transport: plain HTTP, or https:// verified against the system's CA store; client
// certificates and etcd's own authentication are not supported yet.
//
// Threads: one thread at a time (it keeps one HTTP connection per endpoint). Give each thread
// its own Client; they are cheap.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/etcd/http.h"
#include "core/etcd/txn.h"
#include "core/etcd/types.h"
#include "core/util/error.h"

namespace gongshu::etcd {

struct Options {
  std::chrono::milliseconds request_timeout{2000};  // a whole call, across endpoints
  std::chrono::milliseconds connect_timeout{500};   // one TCP connect
  size_t max_reply_bytes = 64u << 20;               // a larger reply is an Error
};

class Client {
 public:
  // endpoints: etcd client URLs, "http://host:port". At least one; checked for form only (no
  // connection is made until the first call).
  static Result<Client> create(std::vector<std::string> endpoints, Options options = {});

  Client(Client&&) noexcept = default;
  Client& operator=(Client&&) noexcept = default;

  // Leases. ttl_s is in seconds; etcd raises a TTL below its minimum (1.5 election timeouts,
  // rounded up: 2 s with etcd's defaults) to that minimum.
  Result<LeaseId> grant_lease(int64_t ttl_s);
  // Renews the lease once; returns the seconds it now has, 0 when it had already expired or
  // was revoked (then its keys are gone). etcd restarts the TTL when a member receives the
  // request, which is after the call began: a holder that notes the monotonic time t0 before
  // calling knows the lease cannot expire before t0 + TTL, even if the call moved to another
  // endpoint (an etcd leader change only extends leases). That is the step-down bound.
  Result<int64_t> keep_alive_once(LeaseId lease);
  // True when this call revoked it, false when it was already gone.
  Result<bool> revoke_lease(LeaseId lease);
  // nullopt when the lease has expired or was revoked; keys: also list the keys attached.
  Result<std::optional<LeaseInfo>> time_to_live(LeaseId lease, bool keys = false);

  // Keys and values are bytes.
  Result<GetResult> get(std::string_view key);
  Result<RangeResult> get_prefix(std::string_view prefix);
  // Returns the store's revision after the put (the key's new mod_revision).
  Result<int64_t> put(std::string_view key, std::string_view value,
                      std::optional<LeaseId> lease = std::nullopt);
  Result<DeleteResult> delete_key(std::string_view key);

  // One transaction: put key = value (attached to lease) if the key is absent, else read it.
  // The leader election's primitive: whoever creates the key holds it, and its create_revision
  // (CreateResult::revision, the same for every caller) is the holder's term.
  Result<CreateResult> create_if_absent(std::string_view key, std::string_view value,
                                        std::optional<LeaseId> lease);

  // Any transaction (core/etcd/txn.h). Not repeated on another endpoint once it may have been
  // sent (see above).
  Result<TxnResult> txn(const Txn& txn);

  // The endpoint the next call starts with.
  const std::string& current_endpoint() const { return connections_[current_].base_url(); }
  const Options& options() const { return options_; }

 private:
  enum class Repeat { kSafe, kOnce };
  Client(std::vector<HttpConnection> connections, Options options)
      : connections_(std::move(connections)), options_(options) {}
  // POSTs body to path on the current endpoint, moving on as described above; returns the
  // body of a 200 reply, or the Error. endpoint (out) names the endpoint that answered.
  Result<std::string> call(std::string_view path, std::string_view body, Repeat repeat,
                           std::string* endpoint = nullptr);

  std::vector<HttpConnection> connections_;
  Options options_;
  size_t current_ = 0;
};

}  // namespace gongshu::etcd
