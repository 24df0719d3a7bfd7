#include "daemon/cluster_replication.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>

#include "core/crypto/key_file.h"
#include "core/replication/changelog.h"
#include "core/store/env.h"
#include "core/util/clock.h"
#include "core/util/encoding.h"
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

namespace {
// Beside a staged backup (reseed_note_path), "key value" lines: the re-seed record (why, and the
// applied head given up: from_term, from_seq; at_ms once it restored) with the hash of that head,
// and, once the backup restored, the head the restored store holds. decode_reseed_record reads
// the record's lines and skips the others.
struct ReseedNote {
  cluster::ReseedRecord record;
  std::optional<replication::Hash> from_hash;  // none in a note of an older gongshud
  std::optional<replication::ChainHead> restored;
};

std::string encode_note(const ReseedNote& n) {
  std::string text = encode_reseed_record(n.record);
  if (n.from_hash) text += "from_hash " + hex_encode(*n.from_hash) + "\n";
  if (n.restored)
    text += "restored_term " + std::to_string(n.restored->term) + "\nrestored_seq " +
            std::to_string(n.restored->seq) + "\nrestored_hash " + hex_encode(n.restored->hash) +
            "\n";
  return text;
}

// nullopt for a note that does not decode whole (a line present but malformed included).
std::optional<ReseedNote> decode_note(std::string_view text) {
  auto record = decode_reseed_record(text);
  if (!record) return std::nullopt;
  std::map<std::string, std::string, std::less<>> lines;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);)
    if (const auto sp = line.find(' '); sp != std::string::npos)
      lines[line.substr(0, sp)] = line.substr(sp + 1);
  bool ok = true;
  auto hash = [&](std::string_view key) -> std::optional<replication::Hash> {
    auto it = lines.find(key);
    if (it == lines.end()) return std::nullopt;
    auto bytes = hex_decode(it->second);
    replication::Hash h{};
    if (!bytes || bytes->size() != h.size()) {
      ok = false;
      return std::nullopt;
    }
    std::copy(bytes->begin(), bytes->end(), h.begin());
    return h;
  };
  auto number = [&](std::string_view key, auto* out) {
    auto it = lines.find(key);
    const std::string& v = it == lines.end() ? std::string() : it->second;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
    if (ec != std::errc() || end != v.data() + v.size()) ok = false;
  };
  ReseedNote n{*record, hash("from_hash"), std::nullopt};
  if (auto h = hash("restored_hash")) {
    replication::ChainHead r{0, 0, *h};
    number("restored_term", &r.term);
    number("restored_seq", &r.seq);
    n.restored = r;
  }
  if (!ok) return std::nullopt;
  return n;
}

// Whether head is the one the note says the backup was staged over (its hash too when the note
// has it).
bool staged_over(const ReseedNote& n, const replication::ChainHead& head) {
  return head.term == n.record.from_term && head.seq == n.record.from_seq &&
         (!n.from_hash || head.hash == *n.from_hash);
}

// The applied head of <state_dir>/store, opened read-only (the daemon is not running on it);
// nullopt when there is no store.
Result<std::optional<replication::ChainHead>> applied_head(const std::string& state_dir) {
  if (::access((state_dir + "/store/data.mdb").c_str(), F_OK) != 0) return std::nullopt;
  store::EnvOptions eo;
  eo.read_only = true;
  eo.map_size = 0;  // the size recorded in the file
  GONGSHU_TRY(auto env, store::Env::open(state_dir + "/store", eo));
  GONGSHU_TRY(replication::ChainHead head, replication::Changelog::stored_head(*env));
  return head;
}

// Writes reseed/last (read_last_reseed), saying in the journal when it cannot.
void record_reseed(const std::string& state_dir, const cluster::ReseedRecord& r,
                   const sys::Logger& log) {
  const std::string path = last_reseed_path(state_dir);
  if (auto s = write_file_atomic(path, as_bytes(encode_reseed_record(r)), 0600); !s)
    log.warning(trf("re-seed: could not record it in {}: {}", path, s.error().message()));
}

// Removes the staged backup and its note, and syncs the directory holding them (reseed/) so a
// power cut cannot bring the backup back.
Status remove_staged(const std::string& state_dir) {
  const std::string path = reseed_backup_path(state_dir);
  ::unlink(path.c_str());
  ::unlink(reseed_note_path(state_dir).c_str());
  return sync_dir_of(path);
}
}  // namespace

Result<bool> restore_staged_reseed(const DaemonConfig& config, const sys::Logger& log) {
  const std::string& dir = config.state_dir;
  const std::string path = reseed_backup_path(dir);
  if (::access(path.c_str(), F_OK) != 0) return false;
  // A backup is restored only over the store it was staged for, the one whose applied head the
  // note names (term, seq and hash: the history, not only the position). A store with another
  // head has moved on since — it may have acknowledged write sets — or, for a deposed leader,
  // holds a history that is not the one the note names; restoring over it could roll a sync
  // member back below what it acknowledged (review M0b: a seq comparison passed a diverged
  // node's long tail). Refused and removed: refusing costs at most a fresh re-seed.
  //
  // The order survives a SIGKILL or power cut at any point: the watcher writes the note before
  // the backup is in place; here restore, then the note again with the restored head (and
  // at_ms), then reseed/last from it, and only then remove both and sync reseed/. A staged backup
  // found with a restored head in its note restored before: if the store still holds that head
  // (the daemon did not run on it, or applied nothing) the re-seed is recorded from the note and
  // the backup removed; if the store moved on, it is removed (reseed/last was written before the
  // daemon ran). Killed between the restore and the rewritten note, the store holds the backup's
  // head, which the note does not name: the backup is removed without a reseed/last record.
  std::optional<ReseedNote> note;
  if (auto text = read_file(reseed_note_path(dir), 4096)) note = decode_note(as_chars(*text));
  if (!note) {
    (void)remove_staged(dir);
    log.warning(trf("re-seed: the staged backup {} has no readable note of the store it was "
                    "staged for: not restored, removed",
                    path),
                {{"GONGSHU_EVENT", "replica_reseed_stale"}});
    return false;
  }
  auto applied = applied_head(dir);
  if (!applied) {
    // A store that is there but whose head cannot be read now (permissions, memory, its lock)
    // is not known to be behind: restoring over it could roll back what it acknowledged. The
    // start fails with the backup kept; a store that is corrupt is restored by hand.
    return fail(ErrorCode::kIo,
                trf("re-seed: could not read the store's applied head ({}); the staged backup {} "
                    "is kept, not restored: repair the store, or restore the backup by hand "
                    "(gongshud restore --replica --force)",
                    applied.error().message(), path));
  }
  const bool no_store = !*applied;
  if (!no_store && note->restored) {
    if (**applied != *note->restored) {
      (void)remove_staged(dir);
      log.warning(
          trf("re-seed: the staged backup {} was restored already (head term {}, seq {}) and "
              "the store has moved on (its head: term {}, seq {}): not restored over it, removed",
              path, note->restored->term, note->restored->seq, (*applied)->term, (*applied)->seq),
          {{"GONGSHU_EVENT", "replica_reseed_stale"}});
      return false;
    }
    record_reseed(dir, note->record, log);
    if (auto s = remove_staged(dir); !s)
      return fail(ErrorCode::kIo, trf("re-seed: could not sync {} after removing the backup: {}",
                                      dir, s.error().message()));
    log.notice(
        trf("re-seed: the staged backup {} was restored already (term {}, seq {}): "
            "recorded and removed",
            path, note->restored->term, note->restored->seq));
    return false;
  }
  if (!no_store && !staged_over(*note, **applied)) {
    (void)remove_staged(dir);
    log.warning(
        trf("re-seed: the staged backup {} was staged over the applied head term {}, seq {}, which "
            "the store does not hold (its head: term {}, seq {}): not restored over it, removed",
            path, note->record.from_term, note->record.from_seq, (*applied)->term, (*applied)->seq),
        {{"GONGSHU_EVENT", "replica_reseed_stale"}});
    return false;
  }
  RestoreOptions o;
  o.from = path;
  o.state_dir = dir;
  o.master_key_path = config.master_key_path();
  o.force = true;
  o.replica = true;
  auto r = restore_backup(o, SystemClock::instance());
  if (!r) {  // the old store stays; the next re-seed fetches a fresh backup
    (void)remove_staged(dir);
    return tl::unexpected(r.error());
  }
  note->record.at_ms = SystemClock::instance().now_ms();
  if (auto head = applied_head(dir); head && *head) {
    note->restored = **head;
    // Not written: a backup that came back would be judged by the head given up, which the
    // restored store does not hold, and removed.
    (void)write_file_atomic(reseed_note_path(dir), as_bytes(encode_note(*note)), 0600);
  }
  record_reseed(dir, note->record, log);
  // Durable before the daemon runs on the restored store and acknowledges write sets: a power
  // cut must not bring the backup back to be restored over a store that moved on.
  if (auto s = remove_staged(dir); !s)
    return fail(ErrorCode::kIo, trf("re-seed: could not sync {} after removing the backup: {}", dir,
                                    s.error().message()));
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
        // Why, and the head given up (restore_staged_reseed restores only over a store that
        // still holds it; recorded once it restores: read_last_reseed). Written before the
        // backup is in place, so a backup is never staged without it.
        const ReseedNote note{
            {0, st.reseed_reason.empty() ? std::string("other") : st.reseed_reason, st.head.term,
             st.head.seq},
            st.head.hash,
            std::nullopt};
        const std::string dir = reseed_.state_dir + "/reseed";
        Status s = {};
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
          s = fail(ErrorCode::kIo, "mkdir " + dir + ": " + std::strerror(errno));
        if (s)
          s = write_file_atomic(reseed_note_path(reseed_.state_dir), as_bytes(encode_note(note)),
                                0600);
        if (s) s = fetch_backup(api, path);
        if (s) {
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
