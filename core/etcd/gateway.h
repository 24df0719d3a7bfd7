// The JSON of etcd's v3 gateway (grpc-gateway over etcdserverpb, paths /v3/kv/*, /v3/lease/*):
// request bodies built from our types, reply bodies read back into them. Pure: no I/O, so the
// readers can be held to replies captured from a real etcd and to hostile ones.
//
// The gateway's mapping, as etcd 3.4 writes it: field names as in rpc.proto (create_revision,
// range_end, request_put...); bytes fields (key, value, range_end) in standard base64; int64
// fields as decimal strings; enums by name; fields at their default (0, false, "", empty list)
// left out, so "succeeded" is absent when a transaction's compares failed and "kvs" when a
// range is empty. A streaming reply (lease keepalive) wraps each message as {"result": ...}.
// A refused request comes back with a non-200 status and {"error", "message", "code"}, code
// being the gRPC status code.
//
// Readers treat the reply as untrusted: anything that does not parse, has the wrong type or a
// bad base64 or integer is a kCorrupt Error naming the field; nothing crashes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/etcd/txn.h"
#include "core/etcd/types.h"
#include "core/util/error.h"

namespace gongshu::etcd::gateway {

// Request bodies.
std::string range_request(std::string_view key, const std::optional<std::string>& range_end);
std::string put_request(std::string_view key, std::string_view value, std::optional<LeaseId> lease);
std::string delete_request(std::string_view key, const std::optional<std::string>& range_end);
std::string txn_request(const Txn& txn);
std::string lease_grant_request(int64_t ttl_s);
// keepalive, revoke and timetolive (keys: list the lease's keys).
std::string lease_request(LeaseId id, bool keys = false);

// Readers of a 200 reply.
Result<RangeResult> read_range(std::string_view body);
Result<int64_t> read_put(std::string_view body);  // the store's revision after the put
Result<DeleteResult> read_delete(std::string_view body);
Result<TxnResult> read_txn(std::string_view body);
Result<LeaseId> read_lease_grant(std::string_view body);
// Seconds left after the keepalive; 0 when the lease had expired or was unknown.
Result<int64_t> read_keepalive(std::string_view body);
// nullopt when the lease has expired or is unknown (etcd answers TTL -1).
Result<std::optional<LeaseInfo>> read_time_to_live(std::string_view body);

// A refusal (non-200): the gRPC code and etcd's message; nullopt when the body is not one.
struct Refusal {
  int code = 0;  // 5 NOT_FOUND, 9 FAILED_PRECONDITION, 14 UNAVAILABLE (no leader), ...
  std::string message;
};
std::optional<Refusal> read_refusal(std::string_view body);

inline constexpr int kGrpcNotFound = 5;
inline constexpr int kGrpcUnavailable = 14;

}  // namespace gongshu::etcd::gateway
