#include "daemon/cluster_replication.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <sstream>

#include "core/crypto/key_file.h"
#include "core/replication/changelog.h"
#include "core/store/env.h"
#include "core/util/clock.h"
#include "core/util/fd.h"
#include "core/util/i18n.h"
#include "core/wire/client_channel.h"
#include "core/wire/codec.h"
#include "core/wire/context.h"
#include "daemon/backup.h"

namespace gongshu::daemon {

namespace {
constexpr std::chrono::seconds kReseedRetry{5};
constexpr std::chrono::seconds kRefusalLogEvery{60};
// The leader makes the whole copy before the first chunk: a large store takes minutes.
constexpr std::chrono::minutes kBackupAnswer{30};
}  // namespace

std::string reseed_backup_path(const std::string& state_dir) {
  return state_dir + "/reseed/backup.gsb";
}

std::string last_reseed_path(const std::string& state_dir) { return state_dir + "/reseed/last"; }

namespace {
// Beside a staged backup: why and from where (at_ms is filled in when it restores).
std::string reseed_note_path(const std::string& state_dir) {
  return reseed_backup_path(state_dir) + ".why";
}
}  // namespace

std::string encode_reseed_record(const cluster::ReseedRecord& r) {
  return "at_ms " + std::to_string(r.at_ms) + "\nreason " + r.reason + "\nfrom_term " +
         std::to_string(r.from_term) + "\nfrom_seq " + std::to_string(r.from_seq) + "\n";
}

Result<cluster::ReseedRecord> decode_reseed_record(std::string_view text) {
  cluster::ReseedRecord r;
  int seen = 0;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    const auto sp = line.find(' ');
    if (sp == std::string::npos) continue;
    const std::string key = line.substr(0, sp), value = line.substr(sp + 1);
    auto number = [&](auto* out) {
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), *out);
      return ec == std::errc() && end == value.data() + value.size();
    };
    bool ok = true;
    if (key == "at_ms") {
      ok = number(&r.at_ms);
      seen |= 1;
    } else if (key == "reason") {
      ok = value == "behind" || value == "diverged" || value == "other";
      r.reason = value;
      seen |= 2;
    } else if (key == "from_term") {
      ok = number(&r.from_term);
      seen |= 4;
    } else if (key == "from_seq") {
      ok = number(&r.from_seq);
      seen |= 8;
    }
    if (!ok) {
      // Not shown to people (daemon.cc keeps no bad record); tests read the reason.
      const std::string what = "re-seed record: bad ";  // i18n-exempt
      return fail(ErrorCode::kCorrupt, what + key + " '" + value + "'");
    }
  }
  if (seen != 15)
    return fail(
        ErrorCode::kCorrupt,
        "re-seed record: needs at_ms, reason, from_term and from_seq lines");  // i18n-exempt
  return r;
}

Result<std::optional<cluster::ReseedRecord>> read_last_reseed(const std::string& state_dir) {
  const std::string path = last_reseed_path(state_dir);
  if (::access(path.c_str(), F_OK) != 0) return std::nullopt;
  GONGSHU_TRY(Bytes text, read_file(path, 4096));
  GONGSHU_TRY(cluster::ReseedRecord r, with_context(decode_reseed_record(as_chars(text)), path));
  return r;
}

Result<bool> restore_staged_reseed(const DaemonConfig& config, const sys::Logger& log) {
  const std::string path = reseed_backup_path(config.state_dir);
  if (::access(path.c_str(), F_OK) != 0) return false;
  // Why it was staged (written by the watcher); at_ms is now, once it restored. The order below
  // survives a SIGKILL at any point: restore, record (reseed/last), only then remove the backup
  // and last its note. Killed before the backup is gone, the next start restores the same backup
  // again (the store has not moved: the daemon never started on it) and records it from the
  // note; killed after, the re-seed is done and recorded, and a note left alone is overwritten
  // by the next re-seed's.
  const std::string note_path = reseed_note_path(config.state_dir);
  std::optional<cluster::ReseedRecord> note;
  if (auto text = read_file(note_path, 4096))
    if (auto r = decode_reseed_record(as_chars(*text))) note = *r;
  // A backup is staged for the store it found behind or diverged at (the note's from_seq). A
  // store that has since moved past that position has run and acknowledged write sets after the
  // re-seed (the backup came back, e.g. its unlink lost to a power cut): restoring it again would
  // roll a sync member back below what it acknowledged. Refused and removed.
  if (note && ::access((config.state_dir + "/store/data.mdb").c_str(), F_OK) == 0) {
    Result<replication::ChainHead> stored = [&]() -> Result<replication::ChainHead> {
      store::EnvOptions eo;
      eo.read_only = true;
      eo.map_size = 0;  // the size recorded in the file
      GONGSHU_TRY(auto env, store::Env::open(config.state_dir + "/store", eo));
      return replication::Changelog::stored_head(*env);
    }();
    if (!stored)
      log.warning(
          trf("re-seed: could not read the store's applied head ({}); restoring the "
              "staged backup",
              stored.error().message()));
    else if (stored->seq > note->from_seq) {
      ::unlink(path.c_str());
      ::unlink(note_path.c_str());
      (void)sync_dir(config.state_dir);
      log.warning(trf("re-seed: the staged backup {} was staged at applied seq {}, but the store "
                      "has applied seq {} since: not restored over it, removed",
                      path, note->from_seq, stored->seq),
                  {{"GONGSHU_EVENT", "replica_reseed_stale"}});
      return false;
    }
  }
  RestoreOptions o;
  o.from = path;
  o.state_dir = config.state_dir;
  o.master_key_path = config.master_key_path();
  o.force = true;
  o.replica = true;
  auto r = restore_backup(o, SystemClock::instance());
  if (!r) {  // the old store stays; the next re-seed fetches a fresh backup
    ::unlink(path.c_str());
    ::unlink(note_path.c_str());
    return tl::unexpected(r.error());
  }
  cluster::ReseedRecord last = note.value_or(cluster::ReseedRecord{0, "other", 0, 0});
  last.at_ms = SystemClock::instance().now_ms();
  const std::string text = encode_reseed_record(last);
  if (auto s = write_file_atomic(last_reseed_path(config.state_dir), as_bytes(text), 0600); !s)
    log.warning(trf("re-seed: could not record it in {}: {}", last_reseed_path(config.state_dir),
                    s.error().message()));
  ::unlink(path.c_str());
  ::unlink(note_path.c_str());
  // Durable before the daemon runs on the restored store and acknowledges write sets: a power
  // cut must not bring the backup back to be restored over a store that moved on.
  if (auto s = sync_dir(config.state_dir); !s)
    return fail(ErrorCode::kIo, trf("re-seed: could not sync {} after removing the backup: {}",
                                    config.state_dir, s.error().message()));
  log.notice(trf("re-seeded from a backup of the leader: audit log verified ({} entries, tree "
                 "size {}), no restore entry appended; streaming on from the backup's position",
                 r->verified_entries, r->manifest.tree_size),
             {{"GONGSHU_EVENT", "replica_reseeded"},
              {"GONGSHU_AUDIT_TREE_SIZE", std::to_string(r->manifest.tree_size)}});
  return true;
}

Result<std::unique_ptr<ClusterReplication>> ClusterReplication::create(const ClusterConfig& config,
                                                                       DaemonStore& store,
                                                                       const sys::Logger* log) {
  GONGSHU_TRY(crypto::KeyFile kf, with_context(crypto::load_key_file(config.node_key),
                                               "cluster.node_key " + config.node_key));
  replication::ReplicatorConfig rc;
  rc.node = config.node;
  rc.bind = config.replication_endpoint;
  std::vector<std::string> others;
  for (const auto& [id, m] : config.members) {
    GONGSHU_TRY(crypto::PublicKey pk,
                with_context(crypto::PublicKey::from_hex(m.key), "cluster.members." + id));
    rc.members[id] =
        replication::Member{pk, id == config.node ? config.replication_endpoint : m.replication};
    if (id != config.node) others.push_back(id);
  }
  if (rc.members.at(config.node).key.hex() != kf.key.public_key().hex())
    return fail(ErrorCode::kInvalidArgument,
                trf("cluster.members.{} is not the public key of cluster.node_key {}", config.node,
                    config.node_key));
  std::unique_ptr<ClusterReplication> r(
      new ClusterReplication(std::move(kf.key), config.sync_count, others));
  audit::AuditLog* audit = &store.audit();
  replication::AuditProbe probe =
      [audit](const store::Txn& txn) -> Result<replication::AuditState> {
    auto h = audit->head(txn);
    return replication::AuditState{h.size, h.root};
  };
  r->log_ = log;
  rc.changelog.max_entries = config.changelog_max_entries;
  rc.changelog.max_bytes = config.changelog_max_mb << 20;
  GONGSHU_TRY(r->replicator_,
              replication::Replicator::create(store.env(), std::move(probe), r->key_, rc));
  // The datasets' key shares travel beside the write sets, never in them (key_shares.h).
  r->replicator_->changelog().set_key_shares(&store);
  // The changelog keeps what sync_count of the other members (the quorum every acknowledged
  // write set is on) have not acknowledged: a member down longer re-seeds rather than holding
  // the changelog, and the primary's disk, without bound.
  r->replicator_->set_sync(others, std::max<uint32_t>(config.sync_count, 1));
  return r;
}

ClusterReplication::~ClusterReplication() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  replicator_.reset();
}

void ClusterReplication::set_reseed(ReseedOptions options) {
  if (watcher_.joinable()) return;
  reseed_ = std::move(options);
  watcher_ = std::thread([this] { watch(); });
}

void ClusterReplication::watch() {
  bool told = false;
  auto next_try = std::chrono::steady_clock::now();
  // The applier's refusals, journalled: each new reason at once, a repeated one at most every
  // kRefusalLogEvery (a deposed sender refused every second would flood the journal).
  uint64_t seen_refusals = 0, unlogged = 0;
  std::string logged_reason;
  auto logged_at = std::chrono::steady_clock::time_point{};
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; });
    if (stopping_ || staged_.load()) continue;
    const std::string api = leader_api_;
    lock.unlock();
    const auto st = replicator_->status();
    const auto now = std::chrono::steady_clock::now();
    if (st.refusals < seen_refusals) seen_refusals = 0;  // a new applier (another leader)
    if (st.refusals > seen_refusals) {
      unlogged += st.refusals - seen_refusals;
      seen_refusals = st.refusals;
      if (log_ && (st.last_refusal != logged_reason || now - logged_at >= kRefusalLogEvery)) {
        log_->warning(trf("refused what the leader {} sent ({} refusal(s) since the last line): "
                          "{}; nothing of it was applied, and this node asks again from its last "
                          "applied write set",
                          st.leader, unlogged, st.last_refusal),
                      {{"GONGSHU_EVENT", "replica_refused"},
                       {"GONGSHU_REFUSAL_KIND", st.last_refusal_kind},
                       {"GONGSHU_REFUSED_SEQ", std::to_string(st.last_refused_seq)},
                       {"GONGSHU_CLUSTER_LEADER", st.leader},
                       {"GONGSHU_REPLICA_REFUSALS", std::to_string(st.refusals)}});
        logged_reason = st.last_refusal;
        logged_at = now;
        unlogged = 0;
      }
    }
    if (st.applier == replication::ApplierState::kNeedsReseed && now >= next_try && !api.empty()) {
      if (reseed_.operator_key.empty()) {
        if (!told && log_)
          log_->warning(trf("this replica must be re-seeded by hand ({}): [cluster] reseed_key "
                            "is not set",
                            st.applier_reason),
                        {{"GONGSHU_EVENT", "replica_reseed_needed"}});
        told = true;
      } else {
        if (log_)
          log_->notice(
              trf("re-seeding from a backup of the leader {} ({})", st.leader, st.applier_reason),
              {{"GONGSHU_EVENT", "replica_reseed"}, {"GONGSHU_CLUSTER_LEADER", st.leader}});
        const std::string path = reseed_backup_path(reseed_.state_dir);
        if (auto s = fetch_backup(api, path); s) {
          // Why, and the position given up: recorded once it restores (read_last_reseed).
          const cluster::ReseedRecord note{
              0, st.reseed_reason.empty() ? std::string("other") : st.reseed_reason, st.head.term,
              st.head.seq};
          const std::string text = encode_reseed_record(note);
          (void)write_file_atomic(reseed_note_path(reseed_.state_dir), as_bytes(text), 0600);
          staged_.store(true);
          if (log_)
            log_->notice(
                trf("re-seed: the leader's backup is in {}; restarting to restore it", path),
                {{"GONGSHU_EVENT", "replica_reseed_staged"}});
        } else {
          ::unlink((path + ".part").c_str());
          if (log_)
            log_->warning(trf("re-seed: fetching the leader's backup failed, trying again in {} "
                              "s: {}",
                              kReseedRetry.count(), s.error().message()),
                          {{"GONGSHU_EVENT", "replica_reseed_failed"}});
          next_try = now + kReseedRetry;
        }
      }
    }
    lock.lock();
  }
}

Status ClusterReplication::fetch_backup(const std::string& api, const std::string& path) {
  GONGSHU_TRY(crypto::KeyFile kf, with_context(crypto::load_key_file(reseed_.operator_key),
                                               "cluster.reseed_key " + reseed_.operator_key));
  GONGSHU_TRY(wire::Context ctx, wire::Context::create());
  wire::ClientOptions co;
  co.max_message_size = 64 << 20;
  GONGSHU_TRY(wire::ClientChannel ch,
              wire::ClientChannel::create(ctx, kf.key, reseed_.daemon_key, co));
  GONGSHU_RETURN_IF_ERROR(ch.connect(api));
  const std::string dir = reseed_.state_dir + "/reseed";
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fail(ErrorCode::kIo, "mkdir " + dir + ": " + std::strerror(errno));
  const std::string part = path + ".part";
  GONGSHU_TRY(Fd fd, Fd::open(part, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  std::string id;
  uint64_t offset = 0, request_id = 0;
  while (true) {
    v1::ApiRequest req;
    req.set_request_id(++request_id);
    req.mutable_backup()->set_offset(offset);
    req.mutable_backup()->set_backup_id(id);
    GONGSHU_TRY(Bytes bytes, wire::encode(req));
    GONGSHU_RETURN_IF_ERROR(ch.send(bytes));
    std::optional<v1::ApiResponse> resp;
    const auto deadline = std::chrono::steady_clock::now() + kBackupAnswer;
    while (!resp && std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return fail(ErrorCode::kUnavailable, "stopping");
      }
      GONGSHU_TRY(auto got, ch.receive(std::chrono::milliseconds(200)));
      if (!got) continue;
      GONGSHU_TRY(auto r, wire::decode_as<v1::ApiResponse>(*got, 64 << 20));
      if (r.request_id() == request_id) resp = std::move(r);
    }
    if (!resp)
      return fail(ErrorCode::kUnavailable, trf("{} did not answer the backup request", api));
    if (resp->has_error() && resp->error().code() != v1::API_OK)
      return fail(ErrorCode::kUnavailable,
                  trf("the leader refused the backup: {}", resp->error().message().substr(0, 512)));
    const v1::BackupChunk& b = resp->backup();
    if (id.empty()) id = b.backup_id();
    GONGSHU_RETURN_IF_ERROR(fd.write_all(as_bytes(b.data())));
    offset += b.data().size();
    if (b.last()) break;
    if (b.data().empty()) return fail(ErrorCode::kCorrupt, tr("an empty chunk before the last"));
  }
  GONGSHU_RETURN_IF_ERROR(fd.sync());
  fd = Fd();
  // Signed by the cluster's key and whole; everything else is checked by the restore.
  GONGSHU_TRY(BackupHeader h, read_backup_header(part));
  if (h.manifest.daemon_key != reseed_.daemon_key)
    return fail(
        ErrorCode::kPermissionDenied,
        trf("the leader's backup names another daemon key ({})", h.manifest.daemon_key.key_id()));
  if (::rename(part.c_str(), path.c_str()) != 0)
    return fail(ErrorCode::kIo, "rename " + part + ": " + std::strerror(errno));
  return {};
}

Status ClusterReplication::lead(int64_t term) {
  GONGSHU_RETURN_IF_ERROR(replicator_->lead(term));
  if (on_lead_) {
    if (auto s = on_lead_(); !s) {
      replicator_->stop();
      return s;
    }
  }
  return {};
}

Status ClusterReplication::follow(const LeaderHint& leader) {
  {
    std::lock_guard lock(mu_);
    leader_api_ = leader.api;
  }
  return replicator_->follow(leader.node, leader.term, leader.replication);
}

void ClusterReplication::stop() { replicator_->stop(); }

cluster::Applied ClusterReplication::applied() const {
  auto h = replicator_->head();
  return cluster::Applied{h.seq, h.term};
}

uint64_t ClusterReplication::quorum_seq() const {
  if (sync_count_ == 0) return UINT64_MAX;
  if (others_.size() < sync_count_) return 0;
  std::vector<uint64_t> each;
  for (const std::string& m : others_) each.push_back(replicator_->synced_seq({m}));
  std::sort(each.begin(), each.end(), std::greater<>());
  return each[sync_count_ - 1];
}

}  // namespace gongshu::daemon
