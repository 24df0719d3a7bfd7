#include "daemon/api.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <thread>

#include "core/sys/logger.h"
#include "core/util/encoding.h"
#include "core/util/fd.h"
#include "core/util/i18n.h"
#include "core/wire/codec.h"
#include "core/wire/curve_key.h"
#include "core/wire/poller.h"
#include "core/wire/server_channel.h"
#include "daemon/access.h"
#include "daemon/agent_batches.h"
#include "daemon/agreements.h"
#include "daemon/alerts.h"
#include "daemon/api_context.h"
#include "daemon/audit_export.h"
#include "daemon/audit_head.h"
#include "daemon/backup.h"
#include "daemon/catalog_authority.h"
#include "daemon/catalog_workflow.h"
#include "daemon/cluster_api.h"
#include "daemon/cluster_gate.h"
#include "daemon/consent.h"
#include "daemon/daemon_keys.h"
#include "daemon/destroy.h"
#include "daemon/drill_marker.h"
#include "daemon/enrollment.h"
#include "daemon/objections.h"
#include "daemon/principals.h"
#include "daemon/provenance.h"
#include "daemon/quality_report.h"
#include "daemon/read_on_replica.h"
#include "daemon/registry.h"
#include "gongshu/v1/api.pb.h"

namespace gongshu::daemon {
namespace {

// The caller a ZAP User-Id names ("<role>:<key id>", or "public:<curve key hex>" for a key the
// daemon did not know at the handshake), as the directory holds it now.
Caller identify(const Directory& directory, const std::string& user_id) {
  Caller c;
  auto colon = user_id.find(':');
  std::string role = user_id.substr(0, colon);
  std::string rest = colon == std::string::npos ? "" : user_id.substr(colon + 1);
  c.role = "public";
  c.key_id = "public";
  c.policy_role = policy::Role::kPublic;
  std::optional<Identity> id;
  if (role == "public") {
    c.curve_hex = rest;
    // The key may have been registered since the connection was made (a public applicant
    // whose agreement was approved): it is that principal from its next request.
    auto raw = hex_decode(rest);
    if (!raw || raw->size() != sizeof(wire::CurveKey)) return c;
    wire::CurveKey curve;
    std::copy(raw->begin(), raw->end(), curve.begin());
    id = directory.by_curve(curve);
    if (!id) return c;
  } else {
    // Re-check on every request: the connection may predate a revocation, after which the key
    // is nobody in particular: the public.
    id = directory.by_key_id(rest);
  }
  auto prole = id ? policy::parse_role(id->role) : std::nullopt;
  if (!id || id->revoked || !prole) {
    if (id) {
      if (auto curve = wire::curve_key_of(id->key)) c.curve_hex = wire::curve_key_hex(*curve);
      if (id->revoked) c.revoked_key_id = id->key_id;
    }
    return c;
  }
  c.role = id->role;
  c.policy_role = *prole;
  c.key_id = id->key_id;
  c.agency = id->agency;
  return c;
}

// What a node that does not lead still answers (daemon/cluster_gate.h): requests that write
// nothing to its store (a replica's store is the leader's to write: one entry of its own would
// make it refuse the leader's next write set). Not the catalog of datasets (catalog_list audits
// each read; the agent's refresh follows the named leader) and not a caller the handler would
// refuse: require() audits its denials. Every other request is answered "not leader" before admit()
// (which audits rate refusals) or the handler runs.
//
// With reads_here (the data path is on: options.record_on_leader), it also serves the audited
// reads itself, their audit entries written by the leader (daemon/read_on_replica.h).
bool replica_read(v1::ApiRequest::BodyCase body) {
  using R = v1::ApiRequest;
  switch (body) {
    case R::kQuery:  // daemon/access.cc, daemon/audit_export.cc: audited on the leader
    case R::kLookup:
    case R::kDownload:
    case R::kAggregate:
    case R::kOpenCatalog:
    case R::kAuditExport:
      return true;
    default:
      return false;
  }
}

// A replica serves reads only while its data is that of a leader it follows and at most this old
// (ReplicaLag.behind_ms); otherwise the caller is sent to the leader (docs/replication.md §6).
constexpr int64_t kMaxReadLagMs = 30'000;

// Why a node that does not lead must not serve a read now (nullopt: it may). Fails closed: no
// lag known (its replicator still leading — a deposed leader before it follows —, or no lag at
// all) refuses. max_lag_ms: the request's own bound (ApiRequest.max_lag_ms; 0: none).
// views_error: why the directory and catalog views are not those of the applied write set
// (refresh_views), empty when they are. Protocol text: english(), never tr().
std::optional<std::string> replica_stale(const ApiContext& ctx, uint64_t max_lag_ms,
                                         const std::string& views_error) {
  auto lag = ctx.options.replica_lag ? ctx.options.replica_lag() : std::nullopt;
  if (!lag) return english("this node is changing role; ask the leader");
  if (lag->state() != "following" || lag->behind_ms() < 0)
    return english("this replica does not serve reads now (replication: {}); ask the leader",
                   lag->state() == "following" ? "not caught up yet" : lag->state());
  if (lag->behind_ms() > kMaxReadLagMs)
    return english(
        "this replica is {} ms behind the leader, more than the {} ms it serves reads "
        "at; ask the leader",
        lag->behind_ms(), kMaxReadLagMs);
  if (max_lag_ms > 0 && uint64_t(lag->behind_ms()) > max_lag_ms)
    return english(
        "this replica is {} ms behind the leader, more than the {} ms the request allows "
        "(max_lag_ms); ask the leader",
        lag->behind_ms(), max_lag_ms);
  if (!views_error.empty())
    return english(
        "this replica could not read its principals and catalog as replicated ({}); ask the "
        "leader",
        views_error);
  return std::nullopt;
}

bool follower_may_answer(v1::ApiRequest::BodyCase body, const Caller& c, bool reads_here) {
  using R = v1::ApiRequest;
  auto role_in = [&](std::initializer_list<std::string_view> roles) {
    for (std::string_view r : roles)
      if (c.role == r) return true;
    return false;
  };
  switch (body) {
    case R::kPing:
      return true;
    case R::kStatus:         // daemon/status.cc
    case R::kClusterStatus:  // daemon/cluster_api.cc
    case R::kCatalogShow:    // daemon/registry.cc (the operator's view; not audited)
      return role_in({"operator", "officer"});
    case R::kAuditHead:  // daemon/audit_head.cc
      return role_in({"operator", "officer", "agent"});
    case R::kClusterFailover:  // daemon/cluster_api.cc: only etcd is written (no leader exists)
      return role_in({"operator"});
    default:
      return reads_here && replica_read(body);
  }
}

// Replicated mode (docs/replication.md §11): requests that change nothing the caller is told of,
// whose only write is the audit entry of the access itself (or a staged export): not held as a
// write is. Those that reveal records, the open catalog or the audit log are still held for the
// synchronous set with sync_count > 0 (leader_read_held(), below), and refused when it does not
// confirm; the rest — listings, status and the backup a replica re-seeds from — are answered at
// once, so a leader whose set is not confirming (alone after `cluster failover --accept-loss`,
// or its sync members stopped) still serves them. Their entries reach the replicas with the next
// write sets.
bool access_only(v1::ApiRequest::BodyCase body) {
  using R = v1::ApiRequest;
  switch (body) {
    case R::kPing:
    case R::kStatus:
    case R::kAgencyList:
    case R::kAgencyShow:
    case R::kCatalogShow:
    case R::kAgentList:
    case R::kCatalogPending:
    case R::kCatalogHistory:
    case R::kCatalogOverlaps:
    case R::kCatalogAuthorityList:
    case R::kPrincipalList:
    case R::kAgentBatchesStored:
    case R::kRecordProvenance:
    case R::kAuditHead:
    case R::kAuditExport:
    case R::kCatalog:
    case R::kOpenCatalog:
    case R::kQuery:
    case R::kLookup:
    case R::kDownload:
    case R::kAggregate:
    case R::kAgreementList:
    case R::kAgreementShow:
    case R::kBackup:
    case R::kDaemonKeyStatus:
    case R::kObjectionList:
    case R::kConsentList:
    case R::kQualityReport:
    case R::kDatasetDestroyStatus:
    case R::kAlertList:
    case R::kAlertShow:
    case R::kClusterStatus:
      return true;
    default:
      return false;
  }
}

// Replicated mode with sync_count > 0 (docs/replication.md §11, review A8): the reads that
// reveal records, the open catalog or the audit log are held on the leader like a write, until
// the synchronous set has the write set holding their access entries, and refused (nothing
// released) when it does not come within sync_wait_ms: a leader lost after answering would
// otherwise take the entries along while the data was out. An audit export only while this
// leader's set counts a member now (review M4, M6; audit_export.h): with none counted (alone
// after `cluster failover --accept-loss`, or its sync members dead) it answers at once, so that
// an officer can take the log out of exactly such a leader. Not the backup a replica re-seeds
// from.
bool leader_read_held(v1::ApiRequest::BodyCase body) { return replica_read(body); }

// A wait bound in whole seconds, at least 1: what a refusal for a full queue asks to wait.
int64_t retry_seconds(int64_t wait_ms) { return std::max<int64_t>(1, (wait_ms + 999) / 1000); }

// The refusal of a request a full queue cannot take (protocol text, English): API_UNAVAILABLE,
// nothing of it served or held, with the wait it asks for.
v1::ApiResponse too_busy(uint64_t request_id, int64_t retry_s, std::string message) {
  v1::ApiResponse r;
  r.set_request_id(request_id);
  auto* err = r.mutable_error();
  err->set_code(v1::API_UNAVAILABLE);
  err->set_message(std::move(message));
  err->set_retry_after_ms(uint64_t(retry_s) * 1000);
  return r;
}

Reply no_daemon_keys() { return refuse(v1::API_INTERNAL, "daemon keys are not available"); }
Reply no_alerts() { return refuse(v1::API_INTERNAL, "security monitoring is not available"); }

// The one map from a request's body to its handler (daemon/<capability>.h).
Reply dispatch(ApiContext& ctx, const Caller& c, const v1::ApiRequest& req, v1::ApiResponse& resp) {
  DaemonKeys* keys = ctx.options.daemon_keys;
  using R = v1::ApiRequest;
  switch (req.body_case()) {
    // enrollment.h
    case R::kPing:
      return ping(ctx, resp);
    case R::kEnrollTokenCreate:
      return enroll_token_create(ctx, c, req.enroll_token_create(), resp);
    case R::kEnroll:
      return enroll(ctx, c, req.enroll(), resp);
    // registry.h
    case R::kAgencyAdd:
      return agency_add(ctx, c, req.agency_add().agency());
    case R::kAgencyList:
      return agency_list(ctx, c, "", resp);
    case R::kAgencyShow:
      return agency_list(ctx, c, req.agency_show().id(), resp);
    case R::kCatalogAdd:
      return catalog_add(ctx, c, req.catalog_add().entry(), resp);
    case R::kCatalogShow:
      return catalog_show(ctx, c, req.catalog_show().id(), resp);
    case R::kAgentList:
      return agent_list(ctx, c, resp);
    case R::kAgentRevoke:
      return agent_revoke(ctx, c, req.agent_revoke().key_id(), resp);
    // catalog_workflow.h
    case R::kCatalogSubmit:
      return catalog_submit(ctx, c, req.catalog_submit(), resp);
    case R::kCatalogPending:
      return catalog_pending(ctx, c, resp);
    case R::kCatalogReview:
      return catalog_review(ctx, c, req.catalog_review(), resp);
    case R::kCatalogRetire:
      return catalog_retire(ctx, c, req.catalog_retire(), resp);
    case R::kCatalogHistory:
      return catalog_history(ctx, c, req.catalog_history().id(), resp);
    case R::kCatalogOverlaps:
      return catalog_overlaps(ctx, c, resp);
    // catalog_authority.h
    case R::kCatalogAuthoritySet:
      return catalog_authority_set(ctx, c, req.catalog_authority_set(), resp);
    case R::kCatalogAuthorityList:
      return catalog_authority_list(ctx, c, req.catalog_authority_list(), resp);
    // principals.h
    case R::kPrincipalAdd:
      return principal_add(ctx, c, req.principal_add(), resp);
    case R::kPrincipalList:
      return principal_list(ctx, c, resp);
    case R::kPrincipalRevoke:
      return principal_revoke(ctx, c, req.principal_revoke(), resp);
    case R::kAgentKeyRotate:
      return agent_key_rotate(ctx, c, req.agent_key_rotate(), resp);
    case R::kAgentBatchesStored:  // agent_batches.h
      return agent_batches_stored(ctx, c, req.agent_batches_stored(), resp);
    // provenance.h, audit_head.h, audit_export.h
    case R::kRecordProvenance:
      return provenance(ctx, c, req.record_provenance(), resp);
    case R::kAuditHead:
      return audit_head(ctx, c, resp);
    case R::kAuditCheckpoint:
      return audit_checkpoint(ctx, c, resp);
    case R::kAuditExport:
      return audit_export(ctx, c, req.audit_export(), resp);
    // access.h
    case R::kCatalog:
      return catalog_list(ctx, c, req.catalog(), resp);
    case R::kOpenCatalog:
      return open_catalog(ctx, c, req.open_catalog(), resp);
    case R::kQuery:
      return query(ctx, c, req.query(), resp);
    case R::kLookup:
      return lookup(ctx, c, req.lookup(), resp);
    case R::kDownload:
      return download(ctx, c, req.download(), resp);
    case R::kAggregate:
      return aggregate(ctx, c, req.aggregate(), resp);
    // agreements.h
    case R::kAgreementApply:
      return agreement_apply(ctx, c, req.agreement_apply(), resp);
    case R::kAgreementReview:
      return agreement_review(ctx, c, req.agreement_review(), resp);
    case R::kAgreementApprove:
      return agreement_approve(ctx, c, req.agreement_approve(), resp);
    case R::kAgreementSign:
      return agreement_sign(ctx, c, req.agreement_sign(), resp);
    case R::kAgreementRevoke:
      return agreement_revoke(ctx, c, req.agreement_revoke(), resp);
    case R::kAgreementViolation:
      return agreement_violation(ctx, c, req.agreement_violation(), resp);
    case R::kAgreementList:
      return agreement_list(ctx, c, "", resp);
    case R::kAgreementShow:
      return agreement_list(ctx, c, req.agreement_show().id(), resp);
    // backup.h, status.h, daemon_keys.h
    case R::kBackup:
      return backup(ctx, c, req.backup(), resp);
    case R::kStatus:
      return status(ctx, c, ctx.options.status, resp);
    case R::kDaemonKeyRotate:
      return keys ? daemon_key_rotate(ctx, *keys, c, resp) : no_daemon_keys();
    case R::kDaemonKeyStatus:
      return keys ? daemon_key_status(ctx, *keys, resp) : no_daemon_keys();
    // drill_marker.h
    case R::kDrillMark:
      return drill_mark(ctx, c, req.drill_mark(), resp);
    // objections.h, consent.h (issue 16)
    case R::kObjectionFile:
      return objection_file(ctx, c, req.objection_file(), resp);
    case R::kObjectionVerify:
      return objection_verify(ctx, c, req.objection_verify(), resp);
    case R::kObjectionAnswer:
      return objection_answer(ctx, c, req.objection_answer(), resp);
    case R::kObjectionList:
      return objection_list(ctx, c, req.objection_list(), resp);
    case R::kConsentGrant:
      return consent_grant(ctx, c, req.consent_grant(), resp);
    case R::kConsentRevoke:
      return consent_revoke(ctx, c, req.consent_revoke(), resp);
    case R::kConsentList:
      return consent_list(ctx, c, req.consent_list(), resp);
    case R::kQualityReport:  // quality_report.h
      return quality_report(ctx, c, req.quality_report(), resp);
    // destroy.h
    case R::kDatasetDestroy:
      return dataset_destroy(ctx, c, req.dataset_destroy(), resp);
    case R::kDatasetDestroyStatus:
      return dataset_destroy_status(ctx, c, req.dataset_destroy_status(), resp);
    // alerts.h
    case R::kAlertList:
      return ctx.options.alerts ? ctx.options.alerts->list(ctx, c, req.alert_list(), resp)
                                : no_alerts();
    case R::kAlertShow:
      return ctx.options.alerts ? ctx.options.alerts->show(ctx, c, req.alert_show(), resp)
                                : no_alerts();
    case R::kAlertAck:
      return ctx.options.alerts ? ctx.options.alerts->ack(ctx, c, req.alert_ack(), resp)
                                : no_alerts();
    // cluster_api.h
    case R::kClusterStatus:
      return cluster_status(ctx, c, resp);
    case R::kClusterSwitchover:
      return cluster_switchover(ctx, c, req.cluster_switchover(), resp);
    case R::kClusterFailover:
      return cluster_failover(ctx, c, req.cluster_failover(), resp);
    case R::kAccessRecord:  // read_on_replica.h
      return access_record(ctx, c, req.access_record(), resp);
    case R::BODY_NOT_SET:
      break;
  }
  return refuse(v1::API_BAD_REQUEST, "unknown request");
}

// One request: admitted (every request but a ping of a key the daemon does not know is counted
// against ApiLimits first), dispatched, and a refusal turned into the answer's ApiError.
// views_error: a replica's failed reload of its views (replica_stale).
v1::ApiResponse handle(ApiContext& ctx, const Caller& c, const v1::ApiRequest& req,
                       const std::string& views_error = {}) {
  v1::ApiResponse resp;
  resp.set_request_id(req.request_id());
  Reply r;
  std::string leader_api;
  const bool follower = ctx.options.gate && !ctx.options.gate->may_write();
  const bool reads_here = bool(ctx.options.record_on_leader);
  // A cluster member recording a replica's reads is not a caller the limits count (the replica
  // counted its callers); anyone else sending that request is admitted, then refused.
  const bool member =
      c.is_public() && !c.curve_hex.empty() && ctx.options.cluster_members.count(c.curve_hex) > 0;
  // On a follower every audit entry (denials and rate refusals too) goes to the leader.
  ctx.on_replica = follower && reads_here;
  ctx.leader_failed = false;
  ctx.defer_record = ctx.on_replica && ctx.options.leader_recorder != nullptr;
  ctx.deferred.Clear();
  ctx.settle.clear();
  if (follower && !follower_may_answer(req.body_case(), c, reads_here)) {
    leader_api = ctx.options.gate->leader().api;
    r = refuse(v1::API_UNAVAILABLE, not_leader_text(leader_api));
  } else if (auto stale = follower && replica_read(req.body_case())
                              ? replica_stale(ctx, req.max_lag_ms(), views_error)
                              : std::nullopt) {
    leader_api = ctx.options.gate->leader().api;
    r = refuse(v1::API_UNAVAILABLE, *stale);
  } else if (req.body_case() != v1::ApiRequest::kPing &&
             !(req.body_case() == v1::ApiRequest::kAccessRecord && member)) {
    r = ctx.admit(c);
  }
  if (r) r = dispatch(ctx, c, req, resp);
  ctx.on_replica = false;
  ctx.defer_record = false;
  if (!r && ctx.leader_failed) {
    // Nothing is released whose access the leader has not recorded (read_on_replica.h).
    resp.clear_body();
    r.error().code = v1::API_UNAVAILABLE;
    leader_api = ctx.options.gate->leader().api;
  }
  // A replica says how far behind the leader what it answered is (docs/replication.md §6).
  if (r && ctx.options.gate && !ctx.options.gate->may_write() && ctx.options.replica_lag) {
    if (auto lag = ctx.options.replica_lag()) *resp.mutable_replica_lag() = std::move(*lag);
  }
  if (!r) {
    resp.clear_body();
    auto* err = resp.mutable_error();
    err->set_code(r.error().code);
    err->set_message(r.error().message);
    err->set_rule(r.error().rule);
    err->set_policy_version(r.error().policy_version);
    if (r.error().retry_after_ms > 0) err->set_retry_after_ms(uint64_t(r.error().retry_after_ms));
    if (!leader_api.empty()) err->set_leader_api(leader_api);
  }
  return resp;
}

}  // namespace

struct ApiService::Impl {
  Directory& directory;
  ApiOptions options;
  RateLimiter limiter;
  ApiContext ctx;
  wire::ServerChannel channel;
  std::atomic<bool> stopping{false};
  std::thread thread;
  // Replicated mode with sync_count > 0 (ApiOptions::repl_synced_seq): successes held until the
  // synchronous set has fsynced their write set, in commit order; `wake` (an eventfd, as the
  // ingest net thread's) is written by the replicator's ack listener.
  struct Held {
    wire::RoutingId from;
    v1::ApiResponse resp;
    uint64_t seq = 0;
    std::chrono::steady_clock::time_point deadline;
    bool read = false;  // leader_read_held(): refused, nothing of it sent, if not confirmed
    size_t bytes = 0;   // a read's encoded size (bounded as the parked answers are)
    // A read's ApiContext::settle, run with true when it is sent, false when it is refused
    // (read_on_replica.h on_withheld: the log and the quota then say nothing was delivered).
    std::vector<std::function<void(bool)>> settle{};
  };
  std::deque<Held> held;
  Fd wake;
  // Replica (options.leader_recorder): answers to reads whose access entries the leader has not
  // confirmed yet, in arrival order. Not one byte of `resp` leaves before the confirmation.
  // sent: the id of the access record their entries went in (kSending while one is made, 0: not
  // yet sent). At most one access record is in flight: reads parked meanwhile go together in the
  // next one, so the leader commits them in one transaction (a group commit).
  struct Parked {
    wire::RoutingId from;
    v1::ApiResponse resp;
    v1::AccessRecordRequest record;
    uint64_t sent = 0;
    std::chrono::steady_clock::time_point deadline;
    std::vector<std::function<void(bool)>> settle;  // ApiContext::settle, run by finish()
    size_t bytes = 0;                               // resp's encoded size
    bool alone = false;  // sent in an access record of its own (pump(): a refused group)
  };
  static constexpr uint64_t kSending = ~uint64_t{0};
  // What a replica holds for the leader at most (docs/replication.md §6): beyond it a read is
  // answered API_UNAVAILABLE at once, nothing of it released.
  static constexpr size_t kMaxParked = 256;
  static constexpr size_t kMaxParkedBytes = size_t{64} << 20;
  std::vector<Parked> parked;
  uint64_t in_flight = 0;
  uint64_t views_seq = 0;  // replica: the applied write set the directory and catalog show
  // Replica: why the last reload of the views failed (reads refused meanwhile); when it was last
  // journalled and how many failures since.
  std::string views_error;
  std::chrono::steady_clock::time_point views_logged{};
  uint64_t views_failures = 0;
  // After a failed reload, not tried again before this (review L4: every request re-read every
  // principal and the catalog on the api thread while it kept failing).
  std::chrono::steady_clock::time_point views_retry{};

  Impl(DaemonStore& s, Directory& d, CatalogView& c, PolicyView& p, ApiOptions o,
       wire::ServerChannel ch)
      : directory(d),
        options(std::move(o)),
        ctx{s, d, c, p, limiter, options},
        channel(std::move(ch)) {}

  void loop();
  void held_loop();
  // `access_only`: what access_only() says of the request (false when it does not parse);
  // `held_read`: what leader_read_held() says of it.
  v1::ApiResponse serve(const wire::Incoming& in, bool& access_only_req, bool& held_read);
  void release();
  void refresh_views();
  // Replica: sends or refuses the parked answers the leader's confirmation (or its refusal, a
  // lost connection, a deadline) decided, and sends the next access record.
  void pump();
  void finish(uint64_t sent, const Status& recorded);
  std::chrono::milliseconds parked_wait() const;
};

// A replica's applier changes the tables under the directory and catalog views: read them again
// when it applied something since (daemon/read_on_replica.h), before the caller is identified.
void ApiService::Impl::refresh_views() {
  if (!options.replica_applied_seq || !options.gate || options.gate->may_write()) return;
  const uint64_t seq = options.replica_applied_seq();
  if (seq == views_seq) return;
  // Tried again at a request a second after a failure at the soonest; meanwhile the reads are
  // refused (replica_stale): the old views may still hold a principal the leader revoked.
  // Journalled at most once a minute.
  const auto now = std::chrono::steady_clock::now();
  if (!views_error.empty() && now < views_retry) return;
  Status s = [&]() -> Status {
    GONGSHU_TRY(auto txn, ctx.store.env().begin_read());
    GONGSHU_RETURN_IF_ERROR(directory.reload(ctx.store, txn));
    return ctx.catalog.reload(ctx.store, txn);
  }();
  if (s) {
    views_seq = seq;
    if (!views_error.empty() && options.log)
      options.log->notice(trf("the principals and catalog are read again (write set {}) after {} "
                              "failed attempt(s); reads are served again",
                              seq, views_failures),
                          {{"GONGSHU_EVENT", "replica_views_reloaded"}});
    views_error.clear();
    views_failures = 0;
    return;
  }
  views_error = s.error().message();
  ++views_failures;
  views_retry = now + std::chrono::seconds(1);
  if (options.log && (views_failures == 1 || now - views_logged >= std::chrono::minutes(1))) {
    views_logged = now;
    options.log->warning(trf("could not read the principals and catalog again after write set "
                             "{} ({} failed attempt(s) so far): {}; reads are refused until "
                             "they are",
                             seq, views_failures, views_error),
                         {{"GONGSHU_EVENT", "replica_views_failed"}});
  }
}

v1::ApiResponse ApiService::Impl::serve(const wire::Incoming& in, bool& access_only_req,
                                        bool& held_read) {
  v1::ApiResponse resp;
  access_only_req = false;
  held_read = false;
  v1::ApiRequest req;
  if (auto s = wire::decode(in.payload, options.max_request, req); !s) {
    resp.mutable_error()->set_code(v1::API_BAD_REQUEST);
    resp.mutable_error()->set_message(english("request does not parse: {}", s.error().message()));
  } else {
    refresh_views();
    Caller caller = identify(directory, in.user_id);
    caller.address = source_address_class(in.peer_address);
    access_only_req = access_only(req.body_case());
    resp = handle(ctx, caller, req, views_error);
    // An export is held only when its handler staged it to be (audit_export.h): it then left
    // what renames (or removes) the staged file in ctx.settle.
    held_read = leader_read_held(req.body_case()) &&
                (req.body_case() != v1::ApiRequest::kAuditExport || !ctx.settle.empty());
  }
  return resp;
}

// Sends every held answer the synchronous set now covers; the ones past their deadline (or all,
// once this node may no longer acknowledge) get the not-yet-confirmed answer instead of success.
void ApiService::Impl::release() {
  if (held.empty()) return;
  const uint64_t synced = options.repl_synced_seq();
  const bool acking = !options.gate || options.gate->may_acknowledge();
  const auto now = std::chrono::steady_clock::now();
  for (auto it = held.begin(); it != held.end();) {
    if (acking && it->seq <= synced) {
      for (auto& s : it->settle) s(true);
      if (auto bytes = wire::encode(it->resp)) (void)channel.send(it->from, *bytes);
    } else if (!acking || now >= it->deadline) {
      for (auto& s : it->settle) s(false);
      // Committed here and audited, but a leader lost now could take it along: not a success.
      // The request's effect is decided by reading it back (docs/replication.md §11).
      v1::ApiResponse r;
      r.set_request_id(it->resp.request_id());
      auto* err = r.mutable_error();
      err->set_code(v1::API_UNAVAILABLE);
      // A read: its entry is committed here (over-recording, never under-recording), its data
      // is not sent.
      if (it->read)
        err->set_message(english(
            kNotAudited,
            acking ? english("its entry (write set {}) was not confirmed by the synchronous set "
                             "within {} ms, and a leader lost now would lose it",
                             it->seq, options.sync_wait_ms)
                   : english("its entry (write set {}) was not confirmed by the synchronous set, "
                             "and this node may no longer acknowledge",
                             it->seq)));
      else
        err->set_message(
            acking ? english("committed on the leader (write set {}) but not yet confirmed by the "
                             "synchronous set within {} ms; it may be lost if this leader is lost "
                             "now: read it back to check before repeating it",
                             it->seq, options.sync_wait_ms)
                   : english("committed on the leader (write set {}) but not yet confirmed by the "
                             "synchronous set, and this node may no longer acknowledge; it may be "
                             "lost: read it back to check before repeating it",
                             it->seq));
      if (auto bytes = wire::encode(r)) (void)channel.send(it->from, *bytes);
    } else {
      ++it;
      continue;
    }
    it = held.erase(it);
  }
}

// The answer (success or refusal) or, when the leader did not record the entries, the refusal
// that sends nothing of it.
void ApiService::Impl::finish(uint64_t sent, const Status& recorded) {
  std::string leader_api;
  if (!recorded && options.gate) leader_api = options.gate->leader().api;
  std::erase_if(parked, [&](Parked& p) {
    if (p.sent != sent) return false;
    for (auto& s : p.settle) s(bool(recorded));
    if (recorded) {
      if (auto bytes = wire::encode(p.resp)) (void)channel.send(p.from, *bytes);
      return true;
    }
    v1::ApiResponse r;
    r.set_request_id(p.resp.request_id());
    auto* err = r.mutable_error();
    // The leader no longer grants it (a principal revoked there): denied, not "try the leader".
    // Refused by the row quota as the leader stores it (answer_of): a denial, audited there as
    // one, rule quota; not "try the leader" (review M5).
    const bool denied = recorded.error().code() == ErrorCode::kPermissionDenied;
    const bool quota = recorded.error().code() == ErrorCode::kResourceExhausted;
    err->set_code(denied || quota ? v1::API_DENIED : v1::API_UNAVAILABLE);
    if (denied) err->set_rule(std::string(kReplicaReadRevoked));
    if (quota) {
      err->set_rule("quota");
      err->set_message(english("nothing was sent: {}", recorded.error().message()));
    } else {
      err->set_message(english(kNotAudited, recorded.error().message()));
    }
    if (!leader_api.empty() && !quota) err->set_leader_api(leader_api);
    if (auto bytes = wire::encode(r)) (void)channel.send(p.from, *bytes);
    return true;
  });
}

void ApiService::Impl::pump() {
  LeaderRecorder* rec = options.leader_recorder;
  if (!rec) return;
  const auto now = std::chrono::steady_clock::now();
  if (in_flight) {
    auto answers = rec->take_answers();
    if (!answers) {
      finish(in_flight, tl::unexpected(answers.error()));
      in_flight = 0;
    } else {
      for (auto& [id, got, named] : *answers) {
        if (id != in_flight) continue;  // an answer to an abandoned record
        // The leader refused a group because one read in it is no longer granted (a principal
        // revoked there, read_on_replica.h): only that one is refused, not the others' that
        // happened to share its record. The leader names the entry it refused (review L5): the
        // read that made it is refused now — its refusal audited once, by the leader — and the
        // others go again together. A leader that names none: each read goes again alone.
        if (!got && got.error().code() == ErrorCode::kPermissionDenied &&
            std::count_if(parked.begin(), parked.end(),
                          [&](const Parked& p) { return p.sent == in_flight; }) > 1) {
          size_t at = 0;  // the index of each read's first entry in the record (sent in order)
          Parked* refused = nullptr;
          for (Parked& p : parked) {
            if (p.sent != in_flight) continue;
            const size_t n = size_t(p.record.entries_size());
            if (named > 0 && named - 1 >= at && named - 1 < at + n) refused = &p;
            at += n;
          }
          for (Parked& p : parked)
            if (p.sent == in_flight) p.sent = 0, p.alone = refused == nullptr;
          in_flight = 0;
          if (refused) {
            refused->sent = kSending;
            finish(kSending, Status(tl::unexpected(got.error())));
          }
          continue;
        }
        finish(in_flight, got ? Status{} : Status(tl::unexpected(got.error())));
        in_flight = 0;
      }
    }
  }
  // The oldest read of the record in flight waited its whole time: the record is given up on,
  // its connection dropped with it (a frozen leader must not get it later), its reads refused.
  const Status late = fail(ErrorCode::kUnavailable,
                           english("the leader did not confirm the access record within {} ms",
                                   options.record_timeout_ms));
  if (in_flight) {
    for (const Parked& p : parked) {
      if (p.sent == in_flight && now >= p.deadline) {
        rec->abandon();
        finish(in_flight, late);
        in_flight = 0;
        break;
      }
    }
  }
  for (Parked& p : parked)
    if (p.sent == 0 && now >= p.deadline) p.sent = kSending;
  finish(kSending, late);
  // The next access record: every read parked meanwhile (up to the leader's limits), or one read
  // that takes rows from a quota alone (the leader refuses a whole record whose quota is spent).
  while (!in_flight) {
    v1::AccessRecordRequest batch;
    size_t bytes = 0;
    bool single = false;
    for (Parked& p : parked) {
      if (p.sent != 0) continue;
      const bool quota = p.record.quota_size() > 0 || p.alone;
      if (batch.entries_size() > 0 &&
          (quota || single || batch.entries_size() + p.record.entries_size() > 10000 ||
           bytes + p.record.ByteSizeLong() > (options.max_request >> 1)))
        break;
      bytes += p.record.ByteSizeLong();
      single = quota;
      for (const auto& e : p.record.entries()) batch.add_entries(e);
      for (const auto& q : p.record.quota()) *batch.add_quota() = q;
      p.sent = kSending;
    }
    if (batch.entries_size() == 0) break;
    auto id = rec->send(batch);
    if (!id) {
      // kUnavailable whatever the cause (an encoding's kResourceExhausted is not a quota denial).
      finish(kSending, fail(ErrorCode::kUnavailable, id.error().message()));
      continue;
    }
    for (Parked& p : parked)
      if (p.sent == kSending) p.sent = *id;
    in_flight = *id;
  }
}

std::chrono::milliseconds ApiService::Impl::parked_wait() const {
  auto timeout = std::chrono::milliseconds(100);
  const auto now = std::chrono::steady_clock::now();
  auto until = [&](std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    timeout =
        std::clamp(left + std::chrono::milliseconds(1), std::chrono::milliseconds(0), timeout);
  };
  if (!held.empty()) until(held.front().deadline);
  for (const Parked& p : parked) until(p.deadline);
  return timeout;
}

void ApiService::Impl::held_loop() {
  while (!stopping.load()) {
    // Made each time: the access record channel changes with the leader.
    wire::Poller poller;
    poller.add(channel);
    if (wake.valid()) poller.add(wake.get());
    if (options.leader_recorder && in_flight) {
      if (wire::ClientChannel* ch = options.leader_recorder->channel()) poller.add(*ch);
    }
    (void)poller.wait(parked_wait());  // an error or a signal: the loop looks again
    uint64_t woken;
    while (wake.valid() && ::read(wake.get(), &woken, sizeof woken) == sizeof woken) {
    }
    pump();
    for (int i = 0; i < 64; ++i) {
      auto in = channel.receive(std::chrono::milliseconds(0));
      if (!in) continue;  // dropped by the channel, as the single-node loop does
      if (!*in) break;
      const uint64_t before = options.repl_thread_seq ? options.repl_thread_seq() : 0;
      // Review M3: with as many leader reads held as it takes, a further one is refused before
      // it is served: after serve() its ALLOW entry would be committed and its rows charged to
      // the quota for an answer never sent.
      if (options.repl_synced_seq && options.repl_thread_seq &&
          size_t(std::count_if(held.begin(), held.end(), [](const Held& h) { return h.read; })) >=
              kMaxParked) {
        v1::ApiRequest peek;
        if (wire::decode((*in)->payload, options.max_request, peek) &&
            leader_read_held(peek.body_case())) {
          const int64_t retry_s = retry_seconds(options.sync_wait_ms);
          const v1::ApiResponse r =
              too_busy(peek.request_id(), retry_s,
                       english("too many reads waiting for the synchronous set; nothing was "
                               "read or recorded; try again in {} s",
                               retry_s));
          if (auto out = wire::encode(r)) (void)channel.send((*in)->from, *out);
          continue;
        }
      }
      bool access_only_req = false, held_read = false;
      v1::ApiResponse resp = serve(**in, access_only_req, held_read);
      const bool to_park = ctx.deferred.entries_size() > 0;
      const size_t resp_bytes = to_park ? resp.ByteSizeLong() : 0;
      size_t parked_bytes = 0;
      if (to_park)
        for (const Parked& p : parked) parked_bytes += p.bytes;
      if (to_park && (parked.size() >= kMaxParked || parked_bytes + resp_bytes > kMaxParkedBytes)) {
        // Full: this read is refused at once (protocol text, English), nothing of it released.
        const int64_t retry_s = retry_seconds(options.record_timeout_ms);
        resp =
            too_busy(resp.request_id(), retry_s,
                     english("too many reads waiting for the leader; try again in {} s", retry_s));
        ctx.deferred.Clear();
      }
      if (ctx.deferred.entries_size() > 0) {
        // A replica's read: parked until the leader recorded its entries (pump()).
        parked.push_back({(*in)->from, std::move(resp), std::move(ctx.deferred), 0,
                          std::chrono::steady_clock::now() +
                              std::chrono::milliseconds(options.record_timeout_ms),
                          std::move(ctx.settle), resp_bytes});
        ctx.deferred.Clear();
        ctx.settle.clear();
        continue;
      }
      // Not parked: a replica's read whose parking was refused (an error, nothing recorded), or
      // the leader's own answer, which is sent below unless held.
      std::vector<std::function<void(bool)>> settle = std::move(ctx.settle);
      ctx.settle.clear();
      const uint64_t wrote = options.repl_thread_seq ? options.repl_thread_seq() : 0;
      if (wrote != before && !resp.has_error() && held_read) {
        // A leader's read: held like a write; bounded as the parked answers are (beyond it
        // refused at once, its entry committed, nothing of it sent).
        size_t held_bytes = 0, held_reads = 0;
        for (const Held& h : held) {
          held_bytes += h.bytes;
          held_reads += h.read ? 1 : 0;
        }
        const size_t bytes = resp.ByteSizeLong();
        if (held_reads >= kMaxParked || held_bytes + bytes > kMaxParkedBytes) {
          const int64_t retry_s = retry_seconds(options.sync_wait_ms);
          // Only the bytes bound is left here (the count is checked before serve()): the read's
          // entry is committed and its rows charged, its answer not sent (docs/replication.md
          // §11).
          const v1::ApiResponse r =
              too_busy(resp.request_id(), retry_s,
                       english("too many bytes of reads waiting for the synchronous set: "
                               "the read was recorded (write set {}) but nothing of it is "
                               "sent; try again in {} s",
                               wrote, retry_s));
          for (auto& s : settle) s(false);
          if (auto out = wire::encode(r)) (void)channel.send((*in)->from, *out);
          continue;
        }
        held.push_back(
            {(*in)->from, std::move(resp), wrote,
             std::chrono::steady_clock::now() + std::chrono::milliseconds(options.sync_wait_ms),
             true, bytes, std::move(settle)});
        continue;
      }
      if (wrote != before && !resp.has_error() && !access_only_req) {
        // A replica's access record carries its settle too (read_on_replica.cc access_record).
        held.push_back(
            {(*in)->from, std::move(resp), wrote,
             std::chrono::steady_clock::now() + std::chrono::milliseconds(options.sync_wait_ms),
             false, 0, std::move(settle)});
        continue;
      }
      // Refusals, reads and requests that wrote nothing here are answered at once (a refusal's
      // or a read's own audit entry acknowledges no effect).
      for (auto& s : settle) s(!resp.has_error());
      if (auto bytes = wire::encode(resp)) (void)channel.send((*in)->from, *bytes);
    }
    release();
    pump();
  }
}

void ApiService::Impl::loop() {
  if ((options.repl_synced_seq && options.repl_thread_seq && wake.valid()) ||
      options.leader_recorder)
    return held_loop();
  while (!stopping.load()) {
    auto in = channel.receive(std::chrono::milliseconds(100));
    if (!in || !*in) continue;
    v1::ApiResponse resp;
    v1::ApiRequest req;
    if (auto s = wire::decode((*in)->payload, options.max_request, req); !s) {
      resp.mutable_error()->set_code(v1::API_BAD_REQUEST);
      resp.mutable_error()->set_message(english("request does not parse: {}", s.error().message()));
    } else {
      refresh_views();
      Caller caller = identify(directory, (*in)->user_id);
      caller.address = source_address_class((*in)->peer_address);
      resp = handle(ctx, caller, req, views_error);
    }
    // A reply the peer can no longer take is dropped: what the request did is committed and
    // audited either way, and the client times out and asks again.
    if (auto bytes = wire::encode(resp)) (void)channel.send((*in)->from, *bytes);
  }
}

ApiService::ApiService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiService::~ApiService() { stop(); }

Result<std::unique_ptr<ApiService>> ApiService::start(wire::Context& context,
                                                      const wire::ZapHandler& zap,
                                                      DaemonStore& store, Directory& directory,
                                                      CatalogView& catalog, PolicyView& policy,
                                                      ApiOptions options) {
  wire::ServerOptions so;
  so.zap_domain = "gongshu.api";
  so.max_message_size = options.max_request;
  GONGSHU_TRY(wire::ServerChannel channel,
              wire::ServerChannel::create(context, zap, store.daemon_key(), so));
  GONGSHU_TRY(std::string bound,
              with_context(channel.bind(options.endpoint), "api " + options.endpoint));
  // From here the bound endpoint (a port the OS chose included): enrollment tokens name it.
  options.endpoint = bound;
  const bool holds = options.repl_synced_seq && options.repl_thread_seq;
  auto impl = std::make_unique<Impl>(store, directory, catalog, policy, std::move(options),
                                     std::move(channel));
  if (holds) {
    impl->wake = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!impl->wake.valid()) return fail_errno("api: eventfd", errno);  // i18n-exempt: a call
  }
  Impl* p = impl.get();
  p->thread = std::thread([p] { p->loop(); });
  return std::unique_ptr<ApiService>(new ApiService(std::move(impl)));
}

const std::string& ApiService::endpoint() const { return impl_->options.endpoint; }

void ApiService::wake() {
  // An eventfd write fails only when its counter would overflow, when it is readable anyway.
  const uint64_t one = 1;
  if (impl_ && impl_->wake.valid() && ::write(impl_->wake.get(), &one, sizeof one) < 0) {
  }
}

void ApiService::stop() {
  if (!impl_) return;
  impl_->stopping = true;
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace gongshu::daemon
