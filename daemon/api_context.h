// What the api socket's handlers share (daemon/api.cc only dispatches; each capability's
// handlers are free functions in their own file, daemon/api.h lists them): the caller as the
// api thread identified it from its CURVE identity, the refusal a handler answers with, and
// the daemon's services.
//
// Handlers run on the api thread only, one request at a time. A handler that reveals data or
// changes state writes its audit entry in the same LMDB write transaction as the change, or
// commits the entry before the answer leaves (reads); a refusal is audited too.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/policy/vocab.h"
#include "daemon/api.h"
#include "daemon/daemon_store.h"
#include "daemon/directory.h"
#include "daemon/policy_view.h"
#include "daemon/rate_limiter.h"
#include "gongshu/v1/api.pb.h"
#include "gongshu/v1/audit.pb.h"

namespace gongshu::daemon {

// The caller as the api thread sees it for one request. Never taken from the message.
struct Caller {
  std::string role;  // public, agent, agency, operator, officer, applicant, licensed
  policy::Role policy_role = policy::Role::kPublic;
  std::string key_id;  // "public" for an unknown key
  std::string agency;
  std::string curve_hex;       // public callers: the CURVE key of their connection
  std::string revoked_key_id;  // a public caller whose key is registered but revoked
  // The connection's source address as the limits count it (source_address_class()).
  std::string address;

  bool is_public() const { return role == "public"; }
  // Whom the rate limiter counts: the key, or for the public the connection's CURVE key.
  const std::string& rate_key() const { return is_public() ? curve_hex : key_id; }
  // Whose refusals are summarised together in the audit log: the key, or for callers the
  // daemon does not know all of them as one class, since a fresh key costs nothing to make.
  std::string_view refusal_key() const {
    return is_public() ? std::string_view(kUnknownKeys) : std::string_view(key_id);
  }
  // Key ids are 16 hex characters, so this names no key.
  static constexpr std::string_view kUnknownKeys = "unknown keys";
};

// What the limits count for a peer address (wire::Incoming::peer_address): an IPv4 address as
// it is (an IPv4-mapped IPv6 one as IPv4), an IPv6 address by its /64 (one subscriber gets a
// whole /64, so single addresses in it cost nothing), anything else as given, and no address
// (ipc://) as "local".
std::string source_address_class(std::string_view peer_address);

// A handler's check of free text a caller sends (a reason, a note, a contact): at most max bytes
// of UTF-8 without control characters (core/util/printable.h), and not empty when required.
// kInvalidArgument naming what and the bound.
Status checked_text(const std::string& what, const std::string& s, size_t max,
                    bool required = true);

// A request-level failure, answered as ApiError.
struct Refusal {
  v1::ApiErrorCode code = v1::API_INTERNAL;
  std::string message;
  std::string rule;            // the policy rule behind a denial
  std::string policy_version;  // and its policy version
  int64_t retry_after_ms = 0;  // API_RATE_LIMITED
};

// A handler's outcome: done, or the refusal to answer with. [[nodiscard]] as Result is
// (core/util/error.h Expected): a check such as require() or admit() whose refusal is dropped
// lets the request through, so not using one does not compile.
using Reply = Expected<void, Refusal>;

tl::unexpected<Refusal> refuse(v1::ApiErrorCode code, std::string message);
Refusal from_error(const Error& e);

// An audit entry naming the caller (public callers with their CURVE key as a reference).
v1::AuditEntry entry_for(const Caller& c, std::string action);
void add_ref(v1::AuditEntry& e, std::string kind, std::string value);

template <typename M>
bool parse_value(ByteView v, M& out) {
  return out.ParseFromArray(v.data(), static_cast<int>(v.size()));
}

struct ApiContext {
  DaemonStore& store;
  Directory& directory;
  CatalogView& catalog;
  PolicyView& policy;
  RateLimiter& limiter;
  const ApiOptions& options;

  // Appends e in a write transaction of its own and commits it.
  Status audit(v1::AuditEntry e) { return audit_in_place(e); }
  // The same, leaving e as appended (its seq set) on this node, for a caller that names it later.
  Status audit_in_place(v1::AuditEntry& e);
  // Audits the refusal e on the RateLimiter's terms: the first of each minute per
  // (refusal_key, what) is appended, its detail naming how many were not audited since the one
  // before; the others are only counted. Refusals are summarised, never silent.
  Status audit_refusal(std::string_view refusal_key, std::string_view what, v1::AuditEntry e);
  // Refuses with API_DENIED, audited as a denial of `action`, unless the caller has one of roles.
  Reply require(const Caller& c, std::string_view action,
                std::initializer_list<std::string_view> roles);
  // Admits a request of a caller the daemon does not know (public) against
  // options.limits: a token of its source address's bucket, then one of the bucket all such
  // callers share. Refused: API_RATE_LIMITED with retry_after_ms, audited by audit_refusal.
  // Known keys are admitted without a check (the policy's rate classes count them per key).
  Reply admit(const Caller& c);
  // Runs change in a write transaction that then reads the directory as the change left it,
  // commits, and installs that directory: a change to who may connect (a revocation above all)
  // is in force when this returns, or it was not made. change's errors are returned as they are.
  Status update_principals(const std::function<Status(store::WriteTxn&)>& change);

  // Replicated mode, set by api.cc for one request while this node does not lead and serves a
  // read (daemon/read_on_replica.h): audit() and the access handlers' reveals send their entries
  // to the leader (options.record_on_leader) instead of writing this store, which is the
  // leader's to write. leader_failed: the leader did not record them; api.cc answers
  // API_UNAVAILABLE with the leader's endpoint.
  bool on_replica = false;
  bool leader_failed = false;
  // Set by api.cc when the answer is parked instead of waited for (docs/replication.md §6):
  // record_on_leader() then only gathers the entries and quota rows into `deferred` and
  // succeeds; api.cc sends them to the leader and releases the answer only on its confirmation.
  bool defer_record = false;
  v1::AccessRecordRequest deferred{};
  // With a deferred record: run by api.cc once the leader decided, with true when it recorded
  // `deferred`, false when it refused or never confirmed (e.g. audit_export.cc makes its staged
  // file servable only then, and removes it otherwise).
  std::vector<std::function<void(bool recorded)>> settle{};
  // Records entries, and the rows taken from agreements' quotas (agreement id, rows), on the
  // leader; fails (and sets leader_failed) unless the leader confirmed. Api thread only.
  Status record_on_leader(const std::vector<v1::AuditEntry>& entries,
                          const std::vector<std::pair<std::string, uint64_t>>& quota);
};

}  // namespace gongshu::daemon
