#include "daemon/daemon.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/crypto/key_file.h"
#include "core/crypto/keyed_hash.h"
#include "core/policy/mask_op.h"
#include "core/util/fd.h"
#include "core/wire/curve_key.h"
#include "daemon/replica_lag.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {
namespace {

// "tcp://0.0.0.0:7400" is where the daemon listens, not where an agent can reach it.
std::string advertised(const std::string& bound, const std::string& configured) {
  if (!configured.empty()) return configured;
  std::string out = bound;
  for (const char* any : {"0.0.0.0", "*", "[::]"}) {
    auto pos = out.find(std::string("//") + any + ":");
    if (pos != std::string::npos) out.replace(pos + 2, std::string(any).size(), "127.0.0.1");
  }
  return out;
}

// Masking profiles that are new or whose ops differ between two policies (R-23: masking changes
// are always audited).
std::string changed_masks(const policy::Policy* old, const policy::Policy& now) {
  std::string out;
  auto same = [](const policy::MaskProfile& a, const policy::MaskProfile& b) {
    if (!(a.record_key_op() == b.record_key_op())) return false;
    for (int k = 0; k < policy::kPiiKindCount; ++k) {
      if (!(a.kind_op(v1::PiiKind(k)) == b.kind_op(v1::PiiKind(k)))) return false;
    }
    return a.field_ops() == b.field_ops();
  };
  for (const policy::MaskProfile& m : now.masks()) {
    const policy::MaskProfile* before = old ? old->mask(m.id()) : nullptr;
    if (!before || !same(*before, m)) out.append(out.empty() ? "" : ",").append(m.id());
  }
  if (old) {
    for (const policy::MaskProfile& m : old->masks()) {
      if (!now.mask(m.id())) out.append(out.empty() ? "" : ",").append(m.id() + " (removed)");
    }
  }
  return out;
}

}  // namespace

Status Daemon::load_policy(const std::string& dir, bool at_start) {
  auto loaded = policy::load_policy_dir(dir);
  // The alert rules beside it are part of it: refused together, in force together.
  auto alert_rules = policy::load_alert_rules(dir);
  if (loaded && !alert_rules) loaded = tl::unexpected(alert_rules.error());
  std::shared_ptr<const policy::Policy> old = policy_.current();
  v1::AuditEntry e;
  e.mutable_principal()->set_key_id(keys_->current().public_key().key_id());
  e.mutable_principal()->set_role("daemon");
  e.set_action("policy_change");
  auto ref = [&](std::string kind, std::string value) {
    auto* r = e.add_refs();
    r->set_kind(std::move(kind));
    r->set_value(std::move(value));
  };
  ref("policy_dir", dir);
  if (old) ref("previous_version", old->version());
  if (!loaded) {
    e.set_decision(v1::DECISION_DENY);
    std::string why = loaded.error().message();
    if (why.size() > 4000) why = why.substr(0, 4000) + " ...";
    e.set_detail(std::string(at_start ? "policy not loaded at start; every access is denied "
                                        "until a reload succeeds: "
                                      : "reload refused; the running policy stays in force: ") +
                 why);
    if (at_start && replication_) {
      deferred_policy_entry_ = e;  // a replica's store is the leader's: written once it leads
    } else
      GONGSHU_RETURN_IF_ERROR(store_->env().update([&](store::WriteTxn& txn) -> Status {
        GONGSHU_RETURN_IF_ERROR(store_->audit().append(txn, e));
        return {};
      }));
    policy_.set_missing("policy " + dir + ": " + loaded.error().message());
    return tl::unexpected(std::move(loaded.error()).with_context("policy " + dir));
  }
  auto fresh = std::make_shared<const policy::Policy>(std::move(*loaded));
  e.set_decision(v1::DECISION_ALLOW);
  e.set_policy_version(fresh->version());
  ref("policy_digest", fresh->digest());
  std::string masks = changed_masks(old.get(), *fresh);
  if (!masks.empty()) ref("masks_changed", masks);
  e.set_detail(std::string(at_start ? "policy loaded at start: " : "policy reloaded: ") +
               std::to_string(fresh->rules().size()) + " rules, " +
               std::to_string(fresh->masks().size()) + " masking profiles, " +
               std::to_string(alert_rules->rules.size()) + " alert rules");
  // Audited before it takes effect: if the entry cannot be written, the old policy stays.
  // Replicated, at start: this node's role is not known yet, and a replica's store is the
  // leader's; the entry is written when this node first leads (write_deferred).
  if (at_start && replication_) {
    deferred_policy_entry_ = e;
  } else
    GONGSHU_RETURN_IF_ERROR(store_->env().update([&](store::WriteTxn& txn) -> Status {
      GONGSHU_RETURN_IF_ERROR(store_->audit().append(txn, e));
      return {};
    }));
  policy_.set(std::move(fresh));
  alerts_->set_rules(std::make_shared<const policy::AlertRules>(std::move(*alert_rules)));
  return {};
}

Status Daemon::write_deferred() {
  // Promoted: the applier changed the tables underneath the in-memory views.
  {
    GONGSHU_TRY(store::ReadTxn txn, store_->env().begin_read());
    GONGSHU_RETURN_IF_ERROR(directory_.reload(*store_, txn));
    GONGSHU_RETURN_IF_ERROR(catalog_.reload(*store_, txn));
  }
  if (!deferred_policy_entry_) return {};
  GONGSHU_RETURN_IF_ERROR(store_->env().update([&](store::WriteTxn& txn) -> Status {
    GONGSHU_RETURN_IF_ERROR(store_->audit().append(txn, *deferred_policy_entry_));
    return {};
  }));
  deferred_policy_entry_.reset();
  return {};
}

Status Daemon::reload(const DaemonConfig& config) { return load_policy(config.policy_dir, false); }

std::string Daemon::policy_version() const {
  auto p = policy_.current();
  return p ? p->version() : std::string();
}

std::string Daemon::policy_problem() const { return policy_.missing_reason(); }

Result<std::unique_ptr<Daemon>> Daemon::start(const DaemonConfig& config, const Clock& clock,
                                              const sys::Logger* log) {
  std::unique_ptr<Daemon> d(new Daemon());
  GONGSHU_TRY(d->keys_, DaemonKeys::load(config.daemon_key_path()));
  GONGSHU_TRY(crypto::SecretBytes master,
              crypto::load_secret_file(config.master_key_path(), crypto::kDataKeySize));
  StoreOptions so;
  so.state_dir = config.state_dir;
  so.audit_origin = config.audit_origin;
  so.map_size = config.map_size_mb << 20;
  GONGSHU_TRY(d->store_, DaemonStore::open(so, d->keys_->current(), std::move(master), clock));
  if (config.cluster.replicated()) {
    // Before any other write: from here the store takes writes only while this node leads.
    GONGSHU_TRY(d->replication_, ClusterReplication::create(config.cluster, *d->store_, log));
    Daemon* self = d.get();
    d->replication_->set_on_lead([self] { return self->write_deferred(); });
    d->replication_->set_reseed(
        {config.state_dir, config.cluster.reseed_key, d->keys_->current().public_key()});
  } else {
    // A pending key rotation takes effect now, before any socket is bound (daemon_keys.h).
    // activate() audits what it activates; the statement it returns is not needed here.
    // (Replicated: not at start — a replica's store is the leader's; see replication.md §10.)
    GONGSHU_RETURN_IF_ERROR(d->keys_->activate(*d->store_));
  }
  d->store_->set_previous_daemon_key(d->keys_->previous());
  {
    GONGSHU_TRY(store::ReadTxn txn, d->store_->env().begin_read());
    GONGSHU_RETURN_IF_ERROR(d->directory_.reload(*d->store_, txn));
    GONGSHU_RETURN_IF_ERROR(d->catalog_.reload(*d->store_, txn));
  }
  // Before the policy (which sets its rules) and the sockets: every entry passes through it.
  AlertService::Options alert_options;
  alert_options.config = config.alerts;
  alert_options.log = log;
  if (config.cluster.enabled) alert_options.gate = &d->cluster_slot_;
  GONGSHU_TRY(d->alerts_, AlertService::start(*d->store_, d->catalog_, std::move(alert_options)));
  // A policy that does not load leaves none in force (every access denied) rather than
  // stopping the daemon: ingest needs no access decision, and SIGHUP can load a fixed policy.
  // That refusal is audited, and policy_problem() names it for the service to log. With no
  // problem named, it was the audit entry (of a refusal or of a policy that loaded) that could
  // not be written: nothing takes effect unaudited, and a store that cannot commit at start is
  // a start that failed.
  if (auto p = d->load_policy(config.policy_dir, true); !p && d->policy_problem().empty()) {
    return tl::unexpected(std::move(p).error().with_context("auditing the policy at start"));
  }
  d->alerts_->run();
  GONGSHU_TRY(wire::Context ctx, wire::Context::create(1));
  d->context_ = std::make_unique<wire::Context>(std::move(ctx));
  Directory* dir = &d->directory_;
  Quarantine* quarantine = &d->quarantine_;
  const Clock* wall = &clock;
  // One ZAP handler for both sockets; the domain says which one is asking.
  auto authorize = [dir, quarantine, wall](const wire::CurveKey& key,
                                           std::string_view domain) -> std::optional<std::string> {
    auto id = dir->by_curve(key);
    if (domain == "gongshu.ingest") {
      if (id && id->role == "agent" && !id->revoked &&
          !quarantine->holds(id->key_id, wall->now_ms()))
        return "agent:" + id->key_id;
      return std::nullopt;
    }
    if (domain == "gongshu.api") {
      if (id && !id->revoked) return id->role + ":" + id->key_id;
      return "public:" + wire::curve_key_hex(key);
    }
    return std::nullopt;
  };
  GONGSHU_TRY(wire::ZapHandler zap, wire::ZapHandler::start(*d->context_, authorize));
  d->zap_ = std::make_unique<wire::ZapHandler>(std::move(zap));

  IngestOptions io;
  io.endpoint = config.ingest_endpoint;
  io.workers = config.workers;
  io.max_group = config.max_group;
  io.worker_nice = config.worker_nice;
  io.per_key = config.ingest_limits;
  io.limits.max_batch_bytes = config.max_batch_bytes;
  io.limits.max_records = config.max_records_per_batch;
  io.limits.max_record_bytes = config.max_record_bytes;
  io.log = log;
  if (config.cluster.enabled) io.gate = &d->cluster_slot_;
  if (d->replication_ && d->replication_->ack_waits()) {
    ClusterReplication* repl = d->replication_.get();
    io.repl_last_seq = [repl] { return repl->last_seq(); };
    // The ack point counts only the sync set ClusterNode wrote to etcd in its term.
    ClusterSlot* slot = &d->cluster_slot_;
    io.repl_synced_seq = [slot] {
      ClusterNode* node = slot->get();
      return node ? node->quorum_seq() : 0;
    };
  }
  GONGSHU_TRY(d->ingest_, IngestService::start(*d->context_, *d->zap_, *d->store_, d->directory_,
                                               d->catalog_, d->quarantine_, io));

  ApiOptions ao;
  ao.endpoint = config.api_endpoint;
  ao.advertised_ingest = advertised(d->ingest_->endpoint(), config.advertise_ingest);
  ao.exports_dir = config.state_dir + "/exports";
  ao.daemon_keys = d->keys_.get();
  ao.backups_dir = config.state_dir + "/backups";
  ao.max_aggregate_groups = config.max_aggregate_groups;
  ao.limits = config.api_limits;
  ao.policy_dir = config.policy_dir;
  ao.city_region = config.city_region;
  ao.status.started_at_ms = clock.now_ms();
  IngestService* ingest = d->ingest_.get();
  ao.status.ingest = [ingest] { return ingest->stats(); };
  ao.status.agents = [ingest] { return ingest->agent_activity(); };
  ao.alerts = d->alerts_.get();
  if (config.cluster.enabled) {
    ao.gate = &d->cluster_slot_;
    ao.cluster = &d->cluster_slot_;
    ao.sync_wait_ms = config.cluster.api_sync_wait_ms;  // [cluster] api_sync_wait_ms
  }
  if (io.repl_synced_seq) {  // api writes wait for the sync set too (docs/replication.md §11)
    ao.repl_synced_seq = io.repl_synced_seq;
    ao.repl_thread_seq = [] { return replication::Changelog::committed_on_this_thread(); };
  }
  if (d->replication_) {  // every answer of a replica carries its lag (daemon/replica_lag.h)
    ClusterReplication* repl = d->replication_.get();
    const DaemonStore* st = d->store_.get();
    ao.replica_lag = [repl, st, node = config.cluster.node] {
      return replica_lag_of(repl->replicator().status(), node, st->clock().now_ms());
    };
    // Reads on replicas: served here, audited on the leader (daemon/read_on_replica.h). The
    // confirmation may take the leader's synchronous-set wait; a second more for the round trip.
    GONGSHU_TRY(
        d->leader_recorder_,
        LeaderRecorder::create(config.cluster, d->keys_->current().public_key(), &d->cluster_slot_,
                               std::chrono::milliseconds(ao.sync_wait_ms + 1000)));
    LeaderRecorder* recorder = d->leader_recorder_.get();
    ao.record_on_leader = [recorder](const v1::AccessRecordRequest& r) {
      return recorder->record(r);
    };
    ao.leader_recorder = recorder;  // the api thread parks a read's answer, does not wait
    ao.record_timeout_ms = ao.sync_wait_ms + 1000;
    ao.replica_applied_seq = [repl] { return repl->replicator().status().head.seq; };
    ao.log = log;  // a failed reload of the views (api.cc refresh_views)
    GONGSHU_TRY(ao.cluster_members, member_curve_keys(config.cluster));
  }
  AlertService* alerts = d->alerts_.get();
  DaemonStore* store = d->store_.get();
  ao.status.open_alerts = [alerts, store]() -> uint64_t {
    auto txn = store->env().begin_read();
    return txn ? alerts->open_count(*txn) : 0;
  };
  d->alerts_->set_agents([ingest] { return ingest->agent_activity(); });
  GONGSHU_TRY(d->api_, ApiService::start(*d->context_, *d->zap_, *d->store_, d->directory_,
                                         d->catalog_, d->policy_, ao));
  if (config.cluster.enabled) {
    // Its keys publish the endpoints as bound; until the first tick wins a term, this node
    // refuses writes (the slot says "not leader").
    ClusterEndpoints ce{ao.advertised_ingest,
                        advertised(d->api_->endpoint(), config.cluster.advertise_api)};
    GONGSHU_TRY(d->cluster_, ClusterNode::create(config.cluster, ce, *d->store_, log));
    if (auto last = read_last_reseed(config.state_dir); last)  // shown by `cluster status`
      d->cluster_->set_last_reseed(*last);
    d->cluster_slot_.set(d->cluster_.get());
    if (d->replication_) {
      ApiService* api = d->api_.get();
      d->replication_->replicator().set_ack_listener([ingest, api] {
        ingest->wake_net();
        api->wake();
      });
      d->cluster_->set_replication(d->replication_.get());
      ClusterReplication* repl = d->replication_.get();
      d->cluster_->set_sync_probe(
          {[repl](const std::string& m) { return repl->replicator().synced_seq({m}); },
           [repl] { return repl->last_seq(); },
           [ingest, api] {
             ingest->wake_net();
             api->wake();
           }});
    }
  }
  return d;
}

bool Daemon::reseed_staged() const { return replication_ && replication_->reseed_staged(); }

void Daemon::stop() {
  // First stop acknowledging and hand the lease back, so another node leads within ms; batches
  // still in flight here get no ack and are re-sent to it.
  if (cluster_) cluster_->resign();
  if (api_) api_->stop();
  if (ingest_) ingest_->stop();
}

Daemon::~Daemon() {
  stop();
  // The data path before the sockets (its ack listener wakes ingest) and the store (its hook).
  if (cluster_) cluster_->set_replication(nullptr);
  replication_.reset();
  alerts_.reset();  // stopped: no appends are left to pass through it; it samples ingest
  // Sockets before the ZAP handler before the context (core/wire's lifetime rules).
  api_.reset();
  ingest_.reset();
  cluster_slot_.set(nullptr);
  cluster_.reset();
  zap_.reset();
  context_.reset();
  store_.reset();
}

Result<InitResult> init_state(const std::string& state_dir, const std::string& operator_key_out,
                              const std::string& audit_origin, const Clock& clock) {
  if (::mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fail_errno("create " + state_dir, errno);
  std::string store_dir = state_dir + "/store";
  if (::access((store_dir + "/data.mdb").c_str(), F_OK) == 0) {
    return fail(ErrorCode::kAlreadyExists,
                state_dir + " already holds a store; refusing to initialise it again");
  }
  if (::mkdir(store_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fail_errno("create " + store_dir, errno);
  auto daemon_key = crypto::IdentityKey::generate();
  GONGSHU_RETURN_IF_ERROR(
      crypto::save_key_file(state_dir + "/daemon.key", crypto::KeyKind::kDaemon, daemon_key));
  GONGSHU_RETURN_IF_ERROR(
      crypto::create_secret_file(state_dir + "/master.key", crypto::kDataKeySize));
  auto op = crypto::IdentityKey::generate();
  GONGSHU_RETURN_IF_ERROR(crypto::save_key_file(operator_key_out, crypto::KeyKind::kOperator, op));

  GONGSHU_TRY(crypto::SecretBytes master,
              crypto::load_secret_file(state_dir + "/master.key", crypto::kDataKeySize));
  StoreOptions so;
  so.state_dir = state_dir;
  so.audit_origin = audit_origin;
  GONGSHU_TRY(auto store, DaemonStore::open(so, daemon_key, std::move(master), clock));
  GONGSHU_RETURN_IF_ERROR(store->env().update([&](store::WriteTxn& txn) -> Status {
    stored::Principal p;
    p.set_public_key(op.public_key().bytes().data(), 32);
    p.set_role("operator");
    p.set_created_at_ms(clock.now_ms());
    p.set_created_by("init");
    GONGSHU_RETURN_IF_ERROR(store->db().principals.insert(txn, op.public_key().key_id(),
                                                          as_bytes(p.SerializeAsString())));
    v1::AuditEntry e;
    e.mutable_principal()->set_key_id(daemon_key.public_key().key_id());
    e.mutable_principal()->set_role("daemon");
    e.set_action("init");
    auto* r = e.add_refs();
    r->set_kind("operator");
    r->set_value(op.public_key().key_id());
    e.set_detail("state initialised; first operator registered");
    GONGSHU_RETURN_IF_ERROR(store->audit().append(txn, e));
    GONGSHU_RETURN_IF_ERROR(store->audit().checkpoint(txn));
    return {};
  }));
  return InitResult{daemon_key.public_key(), op.public_key()};
}

}  // namespace gongshu::daemon

namespace gongshu::daemon {

Status write_info_file(const std::string& state_dir, const Daemon& d) {
  std::string text = "# written by gongshud at start-up\napi = \"" + d.api_endpoint() +
                     "\"\ningest = \"" + d.ingest_endpoint() + "\"\ndaemon_public_key = \"" +
                     d.public_key().hex() + "\"\n";
  return write_file_atomic(state_dir + "/daemon.info", as_bytes(text), 0644);
}

}  // namespace gongshu::daemon
