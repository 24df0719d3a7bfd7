#include "daemon/read_on_replica.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string_view>

#include "core/catalog/lifecycle.h"
#include "core/crypto/key_file.h"
#include "core/sys/logger.h"
#include "core/util/i18n.h"
#include "core/wire/client_channel.h"
#include "core/wire/codec.h"
#include "core/wire/context.h"
#include "core/wire/curve_key.h"
#include "daemon/access.h"
#include "daemon/agreements.h"
#include "daemon/consent.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {
namespace {

constexpr int kMaxEntries = 10000;  // a lookup makes one per dataset of its kind

// The actions of the entries a replica's reads make (replica_read() in api.cc: query, lookup,
// download, aggregate, open_catalog, audit_export): the reveals (access.cc decision_entry with
// policy::action_name read/query_subject/download/export/aggregate; open_catalog; audit_export),
// their denials and rate refusals (deny(), rate_check(): the same names, and "lookup"), the
// role refusal of an export (ApiContext::require's action text), an export's continuation
// (audit_export.cc: audit_export_chunk) and the unknown-keys rate
// refusal of admit() ("api_request"). Nothing else may come from a member.
bool replica_read_action(std::string_view a) {
  for (std::string_view ok : {"read", "query_subject", "download", "export", "aggregate", "lookup",
                              "open_catalog", "audit_export", "audit_export_chunk",
                              "export the audit log",  // i18n-exempt: an audit action's name
                              "api_request"})
    if (a == ok) return true;
  return false;
}

// Empty when agreement `id` is stored active and within its term at now_ms; else why not.
std::string agreement_inactive(const ApiContext& ctx, const store::Txn& txn, const std::string& id,
                               int64_t now_ms) {
  // A licensed operator's licence is its principal record (agreements.cc caller_agreements):
  // the principal check covers it.
  if (id.starts_with("licence:")) return "";
  auto v = ctx.store.db().agreements.get(txn, id);
  stored::Agreement a;
  if (!v || !a.ParseFromArray(v->data(), static_cast<int>(v->size())))
    return english("agreement {} is not known to the leader", id);
  const auto& info = a.info();
  if (info.status() != "active") return english("agreement {} is {}", id, info.status());
  if (now_ms < info.valid_from_ms() || now_ms >= info.valid_to_ms())
    return english("agreement {} is outside its term", id);
  return "";
}

// Empty when the leader still has dataset `id`'s records readable: not destroyed (crypto-shredded,
// as the stored state says) and not withdrawn from the catalog; else why not.
std::string dataset_gone(const ApiContext& ctx, const store::Txn& txn,
                         const CatalogView::Snapshot& catalog, const std::string& id) {
  if (auto v = ctx.store.db().datasets.get(txn, id)) {
    stored::DatasetState st;
    if (parse_value(*v, st) && st.destroyed_at_ms() != 0)
      return english("dataset {} was destroyed on the leader", id);
  }
  auto it = catalog.find(id);
  if (it != catalog.end() && !catalog::records_readable(it->second.entry().status()))
    return english("dataset {} is {} in the leader's catalog", id, it->second.entry().status());
  return "";
}

// Why the leader will not record entry e of a member's access record as it stands now (empty: it
// will): the replica that served the read may not have applied a revocation yet (its stream
// stalled, or simply behind), so the leader checks the caller against its own directory — a
// named principal must exist, not be revoked, and have the role and agency the entry says — and,
// for what was released (review M2): every agreement it names still stored active and in its
// term, every subject consent it names still in force for the caller, the entry's dataset and
// purpose (consent.h consent_not_in_force: the rule a decision on the leader uses), and its dataset
// neither destroyed nor withdrawn. The public is the public on every node.
std::string stale_grant(const ApiContext& ctx, const store::Txn& txn,
                        const CatalogView::Snapshot& catalog, const v1::AuditEntry& e,
                        int64_t now_ms) {
  const auto& who = e.principal();
  if (who.role() != "public" || who.key_id() != "public") {
    auto id = ctx.directory.by_key_id(who.key_id());
    if (!id) return english("principal {} is not known to the leader", who.key_id());
    if (id->revoked) return english("principal {} is revoked", who.key_id());
    if (id->role != who.role() || id->agency != who.agency())
      return english("principal {} is {} of '{}' on the leader, not {} of '{}'", who.key_id(),
                     id->role, id->agency, who.role(), who.agency());
  }
  if (e.decision() == v1::DECISION_DENY) return "";
  for (const auto& r : e.refs()) {
    std::string why;
    if (r.kind() == "agreement")
      why = agreement_inactive(ctx, txn, r.value(), now_ms);
    else if (r.kind() == "consent")
      why = consent_not_in_force(ctx.store, txn, r.value(), who.key_id(), e.dataset(), e.purpose(),
                                 now_ms);
    if (!why.empty()) return why;
  }
  if (!e.dataset().empty()) return dataset_gone(ctx, txn, catalog, e.dataset());
  return "";
}

}  // namespace

struct LeaderRecorder::Impl {
  crypto::IdentityKey node_key;
  crypto::PublicKey daemon_key;
  const LeaderGate* gate = nullptr;
  std::string self;
  std::chrono::milliseconds timeout;
  wire::Context context;
  std::optional<wire::ClientChannel> channel;
  std::string channel_to;    // the api endpoint `channel` connects to
  std::string channel_node;  // and the leader's node id
  uint64_t next_id = 0;

  Impl(crypto::IdentityKey k, crypto::PublicKey d, const LeaderGate* g, std::string node,
       std::chrono::milliseconds t, wire::Context c)
      : node_key(std::move(k)),
        daemon_key(d),
        gate(g),
        self(std::move(node)),
        timeout(t),
        context(std::move(c)) {}
};

LeaderRecorder::LeaderRecorder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LeaderRecorder::~LeaderRecorder() {
  if (impl_) impl_->channel.reset();  // before its context
}

Result<std::unique_ptr<LeaderRecorder>> LeaderRecorder::create(const ClusterConfig& config,
                                                               const crypto::PublicKey& daemon_key,
                                                               const LeaderGate* gate,
                                                               std::chrono::milliseconds timeout) {
  GONGSHU_TRY(crypto::KeyFile kf, with_context(crypto::load_key_file(config.node_key),
                                               "cluster.node_key " + config.node_key));
  GONGSHU_TRY(wire::Context context, wire::Context::create());
  return std::unique_ptr<LeaderRecorder>(new LeaderRecorder(std::make_unique<Impl>(
      std::move(kf.key), daemon_key, gate, config.node, timeout, std::move(context))));
}

namespace {
// The leader's answer to an access record: its confirmation, or kUnavailable saying why not.
Result<v1::AccessRecordResponse> answer_of(const v1::ApiResponse& resp, const std::string& node) {
  // A read the leader no longer grants: kPermissionDenied, so that a group of reads is sent
  // again read by read (api.cc pump()) and only the one refused is refused.
  if (resp.has_error() && resp.error().code() == v1::API_DENIED &&
      resp.error().rule() == kReplicaReadRevoked)
    return fail(ErrorCode::kPermissionDenied, english("the leader {} did not record the access: {}",
                                                      node, resp.error().message().substr(0, 512)));
  // Refused by the agreement's row quota as the leader stores it (audited there as a denial, rule
  // quota): kResourceExhausted, which api.cc finish() answers API_DENIED rule quota, so that a
  // client does not take it for a transient refusal to retry on the leader (review M5).
  if (resp.has_error() && resp.error().code() == v1::API_DENIED && resp.error().rule() == "quota")
    return fail(ErrorCode::kResourceExhausted, english("the leader {} refused the read: {}", node,
                                                       resp.error().message().substr(0, 512)));
  if (resp.has_error() && resp.error().code() != v1::API_OK)
    return fail(ErrorCode::kUnavailable, english("the leader {} did not record the access: {}",
                                                 node, resp.error().message().substr(0, 512)));
  if (!resp.has_access_record())
    return fail(ErrorCode::kUnavailable,
                english("the leader {} answered the access record with something else", node));
  return resp.access_record();
}
}  // namespace

Result<uint64_t> LeaderRecorder::send(const v1::AccessRecordRequest& req) {
  Impl& m = *impl_;
  const LeaderHint leader = m.gate ? m.gate->leader() : LeaderHint{};
  if (leader.node.empty() || leader.api.empty())
    return fail(ErrorCode::kUnavailable,
                english("no leader is elected now to record the access on; try again in a few "
                        "seconds"));
  if (leader.node == m.self)
    return fail(ErrorCode::kUnavailable,
                english("this node is taking or leaving the leadership; try again in a few "
                        "seconds"));
  if (!m.channel || m.channel_to != leader.api) {
    m.channel.reset();
    wire::ClientOptions co;
    GONGSHU_TRY(wire::ClientChannel ch,
                wire::ClientChannel::create(m.context, m.node_key, m.daemon_key, co));
    GONGSHU_RETURN_IF_ERROR(ch.connect(leader.api));
    m.channel.emplace(std::move(ch));
    m.channel_to = leader.api;
    m.channel_node = leader.node;
  }
  v1::ApiRequest out;
  const uint64_t id = ++m.next_id;
  out.set_request_id(id);
  *out.mutable_access_record() = req;
  GONGSHU_TRY(Bytes bytes, wire::encode(out));
  GONGSHU_RETURN_IF_ERROR(m.channel->send(bytes));
  return id;
}

Result<std::vector<LeaderRecorder::Answer>> LeaderRecorder::take_answers() {
  Impl& m = *impl_;
  std::vector<Answer> out;
  while (m.channel) {
    auto got = m.channel->receive(std::chrono::milliseconds(0));
    if (!got) {
      if (got.error().code() == ErrorCode::kCorrupt) continue;
      const std::string why = english("the leader {} ({}) could not be reached: {}", m.channel_node,
                                      m.channel_to, got.error().message());
      m.channel.reset();  // made anew next time
      return fail(ErrorCode::kUnavailable, why);
    }
    if (!*got) break;
    auto resp = wire::decode_as<v1::ApiResponse>(**got, 1 << 20);
    if (!resp) continue;
    out.push_back(
        {resp->request_id(), answer_of(*resp, m.channel_node), resp->error().refused_entry()});
  }
  return out;
}

void LeaderRecorder::abandon() { impl_->channel.reset(); }

wire::ClientChannel* LeaderRecorder::channel() {
  return impl_->channel ? &*impl_->channel : nullptr;
}

Result<v1::AccessRecordResponse> LeaderRecorder::record(const v1::AccessRecordRequest& req) {
  Impl& m = *impl_;
  GONGSHU_TRY(const uint64_t id, send(req));
  const auto deadline = std::chrono::steady_clock::now() + m.timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto got = m.channel->receive(left);
    if (!got) {
      if (got.error().code() == ErrorCode::kCorrupt) continue;
      const std::string why = english("the leader {} ({}) could not be reached: {}", m.channel_node,
                                      m.channel_to, got.error().message());
      m.channel.reset();  // made anew next time
      return fail(ErrorCode::kUnavailable, why);
    }
    if (!*got) continue;
    auto resp = wire::decode_as<v1::ApiResponse>(**got, 1 << 20);
    if (!resp || resp->request_id() != id) continue;  // an answer to an earlier, abandoned one
    return answer_of(*resp, m.channel_node);
  }
  // Dropped with its queue: a frozen leader must not get the entries later, after the refusal
  // (it would record a read that was never answered; harmless, but untrue).
  const std::string why =
      english("the leader {} ({}) did not confirm the access record within {} ms", m.channel_node,
              m.channel_to, m.timeout.count());
  m.channel.reset();
  return fail(ErrorCode::kUnavailable, why);
}

Result<std::map<std::string, std::string>> member_curve_keys(const ClusterConfig& config) {
  std::map<std::string, std::string> out;
  for (const auto& [id, m] : config.members) {
    GONGSHU_TRY(crypto::PublicKey pk,
                with_context(crypto::PublicKey::from_hex(m.key), "cluster.members." + id));
    GONGSHU_TRY(wire::CurveKey curve,
                with_context(wire::curve_key_of(pk), "cluster.members." + id));
    out[wire::curve_key_hex(curve)] = id;
  }
  return out;
}

Reply access_record(ApiContext& ctx, const Caller& c, const v1::AccessRecordRequest& req,
                    v1::ApiResponse& resp) {
  auto member = c.is_public() ? ctx.options.cluster_members.find(c.curve_hex)
                              : ctx.options.cluster_members.end();
  if (member == ctx.options.cluster_members.end()) {
    auto e = entry_for(c, "access_record");
    e.set_decision(v1::DECISION_DENY);
    e.set_policy_rule("cluster-member");
    e.set_detail(
        english("only a cluster member's node key may record the accesses of reads served on a "
                "replica"));
    if (auto s = ctx.audit_refusal(c.refusal_key(), "access_record", std::move(e)); !s)
      return tl::unexpected(from_error(s.error()));
    return refuse(v1::API_DENIED,
                  "access records are taken only from cluster members' node keys ([cluster] "
                  "members); this key is not one");
  }
  // Review M1: with the LEADER's [cluster] sync_count = 0 nothing but its own commit confirms
  // the entries (api.cc holds nothing), so a loss of this leader would lose them while the rows
  // are out (review A8(a)): refused here, whatever the replica's own sync_count says (a rolling
  // config change can leave them apart).
  if (!ctx.options.repl_synced_seq)
    return refuse(v1::API_UNAVAILABLE,
                  english(kNotAudited,
                          english("the leader runs with [cluster] sync_count = 0, so no replica "
                                  "confirms the entry before it is relied on, and replicas do not "
                                  "serve audited reads; ask the leader")));
  if (req.entries_size() == 0 || req.entries_size() > kMaxEntries)
    return refuse(v1::API_BAD_REQUEST,
                  english("an access record holds 1..{} audit entries", kMaxEntries));
  std::vector<v1::AuditEntry> entries(size_t(req.entries_size()));
  for (int i = 0; i < req.entries_size(); ++i) {
    v1::AuditEntry& e = entries[size_t(i)];
    if (!e.ParseFromString(req.entries(i)) || e.action().empty() || !e.has_principal())
      return refuse(v1::API_BAD_REQUEST,
                    english("audit entry {} of the access record does not parse or names no action "
                            "and principal",
                            i));
    // Only what a replica's read makes, stamped by the leader, with no field this build does not
    // know (it would be signed into the log unseen) and no served_by but the leader's own.
    v1::AuditEntry known = e;
    known.DiscardUnknownFields();
    std::string why;
    if (!replica_read_action(e.action()))
      why = english("action '{}' is not one a read served on a replica makes", e.action());
    else if (known.ByteSizeLong() != e.ByteSizeLong())
      why = english("it holds fields this leader does not know");
    if (!why.empty()) {
      auto d = entry_for(c, "access_record");
      d.set_decision(v1::DECISION_DENY);
      d.set_policy_rule("replica-read-entry");
      add_ref(d, "served_by", member->second);
      d.set_detail(english("audit entry {} of member {}'s access record refused: {}", i,
                           member->second, why));
      if (auto st = ctx.audit_refusal(c.refusal_key(), "access_record", std::move(d)); !st)
        return tl::unexpected(from_error(st.error()));
      return refuse(v1::API_DENIED, "audit entry " + std::to_string(i) +
                                        " of the access record refused: " + why +
                                        "; nothing of the record was appended");
    }
    e.clear_time_ms();  // AuditLog::append stamps the leader's time
    auto* refs = e.mutable_refs();
    for (int r = refs->size() - 1; r >= 0; --r)
      if (refs->Get(r).kind() == "served_by") refs->DeleteSubrange(r, 1);
    add_ref(e, "served_by", member->second);
  }
  for (const auto& q : req.quota()) {
    if (q.agreement_id().empty() || q.rows() == 0)
      return refuse(v1::API_BAD_REQUEST, "a quota use names no agreement or no rows");
  }
  uint64_t size = 0;
  // Refused whole when the leader's directory or agreements no longer grant what an entry says
  // was granted (stale_grant): checked in the transaction that appends, so nothing of it is
  // appended, and the refusal is audited after it (below).
  std::string stale;
  v1::AuditEntry stale_entry;
  size_t stale_index = 0;   // which entry (review L5: named in the refusal)
  bool over_quota = false;  // use_rows refused: the stored quota has not the rows left
  const int64_t now = ctx.store.clock().now_ms();
  const auto catalog = ctx.catalog.snapshot();
  auto s = ctx.store.env().update([&](store::WriteTxn& txn) -> Status {
    for (size_t i = 0; i < entries.size(); ++i) {
      stale = stale_grant(ctx, txn, *catalog, entries[i], now);
      if (!stale.empty()) {
        stale_entry = entries[i];
        stale_index = i;
        return fail(ErrorCode::kPermissionDenied, stale);
      }
    }
    for (const auto& q : req.quota()) {
      stale = agreement_inactive(ctx, txn, q.agreement_id(), now);
      if (!stale.empty()) {
        stale_entry = entries.front();
        return fail(ErrorCode::kPermissionDenied, stale);
      }
    }
    for (const auto& q : req.quota()) {
      policy::Agreement a;  // use_rows reads the stored agreement; the quota is checked there
      a.id = q.agreement_id();
      a.rows_remaining = 0;
      GONGSHU_RETURN_IF_ERROR(use_rows(ctx, txn, &a, q.rows(), &over_quota));
    }
    for (auto& e : entries) GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, e));
    size = ctx.store.audit().head(txn).size;
    return {};
  });
  if (!s && !stale.empty()) {
    // Audited as the read it would have recorded, refused: the principal of the read, its
    // action and dataset, DENY by rule replica-read-revoked, served_by the member. Summarised
    // per minute per principal and action, as every refusal.
    v1::AuditEntry d;
    *d.mutable_principal() = stale_entry.principal();
    d.set_action(stale_entry.action());
    d.set_dataset(stale_entry.dataset());
    d.set_purpose(stale_entry.purpose());
    d.set_decision(v1::DECISION_DENY);
    d.set_policy_rule(std::string(kReplicaReadRevoked));
    for (const auto& r : stale_entry.refs())
      if (r.kind() == "curve_key" || r.kind() == "agreement") *d.add_refs() = r;
    add_ref(d, "served_by", member->second);
    d.set_detail(
        english("the leader refused to record a read served on {}: {}; nothing of the read "
                "was released",
                member->second, stale));
    const std::string key = stale_entry.principal().key_id() == "public"
                                ? std::string(Caller::kUnknownKeys)
                                : stale_entry.principal().key_id();
    if (auto st =
            ctx.audit_refusal(key, english("replica read {}", stale_entry.action()), std::move(d));
        !st)
      return tl::unexpected(from_error(st.error()));
    auto r = refuse(v1::API_DENIED, "the leader no longer grants this read: " + stale +
                                        "; nothing of the record was appended");
    r.value().rule = std::string(kReplicaReadRevoked);
    // The replica refuses the read that made this entry and sends the others again together
    // (api.cc pump()): each refusal is audited once (review L5).
    resp.mutable_error()->set_refused_entry(uint32_t(stale_index + 1));
    return r;
  }
  if (!s && over_quota) {
    // A denial by the quota as stored, audited as one (with served_by) in a transaction of its
    // own, as on the leader's own reads (review A9).
    if (auto a = audit_quota_refusal(ctx, entries, s.error().message()); !a)
      return tl::unexpected(from_error(a.error()));
    auto r = refuse(v1::API_DENIED, s.error().message() + "; nothing of the record was appended");
    r.value().rule = "quota";
    return r;
  }
  if (!s) return tl::unexpected(from_error(s.error()));
  // Held for the synchronous set like a write (api.cc): refused instead, the member releases
  // nothing of the reads, so the log and the quota say so here too (review x M3b, as the
  // leader's own held reads: on_withheld).
  if (ctx.options.repl_synced_seq) {
    std::vector<std::pair<std::string, uint64_t>> quota;
    for (const auto& q : req.quota())
      if (q.rows() > 0) quota.emplace_back(q.agreement_id(), q.rows());
    ctx.settle.push_back(on_withheld(ctx, entries, std::move(quota)));
  }
  auto* out = resp.mutable_access_record();
  if (ctx.options.gate) out->set_node(ctx.options.gate->leader().node);
  out->set_audit_size(size);
  return {};
}

Status withhold_read(ApiContext& ctx, const std::vector<v1::AuditEntry>& entries,
                     const std::vector<std::pair<std::string, uint64_t>>& quota,
                     uint64_t write_set) {
  if (entries.empty()) return {};
  // One read_withheld per principal and action (a replica's access record may carry the reads
  // of several callers): each names its caller's entries; an agreement's rows given back go
  // with the first group whose entries name that agreement (else the first group).
  struct Group {
    const v1::AuditEntry* first;
    std::vector<uint64_t> seqs;
    std::set<std::string> agreements;  // the agreement refs of its entries
    std::vector<std::pair<std::string, uint64_t>> quota;
  };
  std::vector<Group> groups;
  for (const auto& e : entries) {
    auto g = std::find_if(groups.begin(), groups.end(), [&](const Group& x) {
      const v1::AuditEntry& f = *x.first;
      return f.principal().key_id() == e.principal().key_id() &&
             f.principal().role() == e.principal().role() &&
             f.principal().agency() == e.principal().agency() && f.action() == e.action();
    });
    if (g == groups.end()) g = groups.insert(groups.end(), Group{&e, {}, {}, {}});
    g->seqs.push_back(e.seq());
    for (const auto& r : e.refs())
      if (r.kind() == "agreement") g->agreements.insert(r.value());
  }
  for (const auto& [id, n] : quota) {
    auto g = std::find_if(groups.begin(), groups.end(),
                          [&](const Group& x) { return x.agreements.count(id) > 0; });
    (g == groups.end() ? groups.front() : *g).quota.emplace_back(id, n);
  }
  std::vector<v1::AuditEntry> withheld;
  for (const Group& g : groups) {
    v1::AuditEntry& w = withheld.emplace_back();
    *w.mutable_principal() = g.first->principal();
    w.set_action("read_withheld");
    w.set_dataset(g.first->dataset());
    w.set_purpose(g.first->purpose());
    w.set_decision(v1::DECISION_NONE);
    w.set_record_count(0);
    std::string seqs;
    for (uint64_t seq : g.seqs) {
      add_ref(w, "withheld_entry", std::to_string(seq));
      seqs += (seqs.empty() ? "" : ", ") + std::to_string(seq);
    }
    if (write_set) add_ref(w, "write_set", std::to_string(write_set));
    std::string rows;
    for (const auto& [id, n] : g.quota) {
      add_ref(w, "rows_returned", id + ":" + std::to_string(n));
      rows += english("; {} row(s) given back to agreement {}'s quota", n, id);
    }
    // Audit text is machine output (never tr()).
    w.set_detail(
        english("the answer of the {} recorded by entry(ies) {}{} was not sent: it was not "
                "confirmed by the synchronous set in time, or the held answers were at "
                "their bound; the caller was refused and received nothing{}",
                g.first->action(), seqs,
                write_set ? english(" (write set {})", write_set) : std::string(), rows));
  }
  return ctx.store.env().update([&](store::WriteTxn& txn) -> Status {
    for (const auto& [id, n] : quota) GONGSHU_RETURN_IF_ERROR(return_rows(ctx, txn, id, n));
    for (auto& w : withheld) GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, w));
    return {};
  });
}

std::function<void(bool released)> on_withheld(
    ApiContext& ctx, std::vector<v1::AuditEntry> entries,
    std::vector<std::pair<std::string, uint64_t>> quota) {
  const uint64_t write_set = ctx.options.repl_thread_seq ? ctx.options.repl_thread_seq() : 0;
  return [&ctx, entries = std::move(entries), quota = std::move(quota), write_set](bool released) {
    if (released) return;
    // A node that no longer leads writes nothing of its own: its store is the new leader's to
    // write (an entry here would make it diverge). Its committed tail, the read's entries with
    // it, is given up when it re-seeds; nothing of the read was sent either way.
    if (ctx.options.gate && !ctx.options.gate->may_write()) return;
    if (auto s = withhold_read(ctx, entries, quota, write_set); !s && ctx.options.log)
      ctx.options.log->warning(
          trf("a withheld read's entry (write set {}) could not be recorded as withheld, nor its "
              "rows given back: {}",
              write_set, s.error().message()),
          {{"GONGSHU_EVENT", "read_withheld_failed"}});
  };
}

}  // namespace gongshu::daemon
