#include "daemon/daemon_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/crypto/keyed_hash.h"
#include "core/crypto/sha256.h"
#include "core/policy/calendar.h"
#include "core/store/cursor.h"
#include "core/util/check.h"
#include "core/util/fd.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {
namespace {

constexpr std::string_view kWrapDomain = "gongshu.datakey.v1:";
constexpr std::string_view kWrapDomainV2 = "gongshu.datakey.v2:";
constexpr std::string_view kShareDomain = "gongshu.datakey-share.v2";
constexpr uint32_t kKeyVersion = 2;

Result<stored::DatasetState> dataset_state(const store::Table<std::string_view>& t,
                                           const store::Txn& txn, const std::string& dataset) {
  stored::DatasetState st;
  if (auto v = t.get(txn, dataset)) {
    if (!st.ParseFromArray(v->data(), static_cast<int>(v->size())))
      return fail(ErrorCode::kCorrupt, "dataset " + dataset + ": stored state does not parse");
  }
  return st;
}

std::string key_id_of(std::string_view wrapped) {
  auto d = crypto::sha256(wrapped);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < 8; ++i) {
    out.push_back(kHex[d[i] >> 4]);
    out.push_back(kHex[d[i] & 15]);
  }
  return out;
}

// A name install() accepts for a share file: what a dataset id may be (core/catalog: [a-z0-9_.-],
// here also upper case), 1..128 bytes, not starting with a dot — so never a path, "..", or
// the temporary files below.
bool share_name_ok(std::string_view name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

constexpr std::string_view kShareSuffix = ".share";

template <class String>
String record_key_in(String k, std::string_view dataset, std::string_view record_key) {
  k.reserve(dataset.size() + 1 + record_key.size());
  k.append(dataset).push_back('\0');
  k.append(record_key);
  return k;
}

}  // namespace

std::string record_key_of(std::string_view dataset, std::string_view record_key) {
  return record_key_in(std::string(), dataset, record_key);
}

std::pmr::string record_key_of(std::string_view dataset, std::string_view record_key,
                               std::pmr::memory_resource* memory) {
  return record_key_in(std::pmr::string(memory), dataset, record_key);
}

Bytes version_ad(std::string_view agent_key_id, uint64_t batch_seq, uint32_t index) {
  constexpr std::string_view kDomain = "gongshu.version.v1";
  // Laid out by offset (not appended piecewise): GCC 12 at -O3 misreports vector appends here.
  Bytes ad(kDomain.size() + 1 + agent_key_id.size() + 12);
  uint8_t* p = ad.data();
  std::memcpy(p, kDomain.data(), kDomain.size());
  p += kDomain.size();
  *p++ = 0;
  std::memcpy(p, agent_key_id.data(), agent_key_id.size());
  p += agent_key_id.size();
  put_be64(p, batch_seq);
  put_be32(p + 8, index);
  return ad;
}

Bytes batch_key_of(std::string_view agent_key_id, uint64_t batch_seq) {
  Bytes k;
  append(k, agent_key_id);
  append_be64(k, batch_seq);
  return k;
}

namespace {

// Stores written before the subject index was partitioned hold it in "subjects", keyed by
// token || dataset \0 key. Their entries move into partition 0 at the first start after the
// upgrade, in one transaction; the old table is left empty.
Status migrate_unpartitioned_subjects(store::Env& env, const DaemonStore::Tables& db) {
  GONGSHU_TRY(auto old, store::Table<ByteView>::open(env, "subjects"));
  return env.update([&](store::WriteTxn& txn) -> Status {
    if (old.count(txn) == 0) return {};
    std::vector<Bytes> keys;
    auto cur = old.cursor(txn);
    for (auto e = cur.first(); e; e = cur.next()) keys.emplace_back(e->key.begin(), e->key.end());
    for (const Bytes& key : keys) {
      Bytes moved;
      append_be64(moved, 0);
      append(moved, key);
      GONGSHU_RETURN_IF_ERROR(db.subjects.put(txn, moved, {}));
      GONGSHU_RETURN_IF_ERROR(old.del(txn, key));
    }
    return {};
  });
}

}  // namespace

DaemonStore::DaemonStore(const crypto::IdentityKey& daemon_key, crypto::SecretBytes master_key,
                         const Clock& clock)
    : daemon_key_(daemon_key),
      master_(*crypto::DataKey::from_secret(std::move(master_key))),
      clock_(clock) {
  // Derived, so only the master key needs protecting; a separate domain keeps the uses apart.
  auto derived = crypto::keyed_hash(master_.secret(), "gongshu.subject-index.v1", {});
  subject_key_ = crypto::SecretBytes::copy_of(derived);
}

Result<DaemonStore::Tables> DaemonStore::Tables::open(store::Env& env) {
  using S = store::Table<std::string_view>;
  using B = store::Table<ByteView>;
  GONGSHU_TRY(S meta, S::open(env, "meta"));
  GONGSHU_TRY(S agencies, S::open(env, "agencies"));
  GONGSHU_TRY(S principals, S::open(env, "principals"));
  GONGSHU_TRY(S tokens, S::open(env, "enroll_tokens"));
  GONGSHU_TRY(S catalog, S::open(env, "catalog"));
  GONGSHU_TRY(S catalog_versions, S::open(env, "catalog_versions"));
  GONGSHU_TRY(S datasets, S::open(env, "datasets"));
  GONGSHU_TRY(S records, S::open(env, "records"));
  GONGSHU_TRY(auto versions, store::Table<uint64_t>::open(env, "versions"));
  GONGSHU_TRY(B batches, B::open(env, "batches"));
  GONGSHU_TRY(B subjects, B::open(env, "subject_index"));
  GONGSHU_TRY(B subject_runs, B::open(env, "subject_runs"));
  GONGSHU_TRY(S agreements, S::open(env, "agreements"));
  GONGSHU_TRY(S agreement_holders, S::open(env, "agreement_holders"));
  GONGSHU_TRY(S violations, S::open(env, "violations"));
  GONGSHU_TRY(S objections, S::open(env, "objections"));
  GONGSHU_TRY(S objection_marks, S::open(env, "objection_marks"));
  GONGSHU_TRY(S consents, S::open(env, "consents"));
  GONGSHU_TRY(S consent_index, S::open(env, "consent_index"));
  GONGSHU_TRY(S delivery_stats, S::open(env, "delivery_stats"));
  return Tables{std::move(meta),          std::move(agencies),          std::move(principals),
                std::move(tokens),        std::move(catalog),           std::move(catalog_versions),
                std::move(datasets),      std::move(records),           std::move(versions),
                std::move(batches),       std::move(subjects),          std::move(subject_runs),
                std::move(agreements),    std::move(agreement_holders), std::move(violations),
                std::move(objections),    std::move(objection_marks),   std::move(consents),
                std::move(consent_index), std::move(delivery_stats)};
}

DaemonStore::~DaemonStore() {
  audit_.reset();
  env_.reset();
}

Result<std::unique_ptr<DaemonStore>> DaemonStore::open(const StoreOptions& options,
                                                       const crypto::IdentityKey& daemon_key,
                                                       crypto::SecretBytes master_key,
                                                       const Clock& clock) {
  if (master_key.size() != crypto::kDataKeySize) {
    return fail(ErrorCode::kInvalidArgument, "storage master key must be 32 bytes");
  }
  std::unique_ptr<DaemonStore> s(new DaemonStore(daemon_key, std::move(master_key), clock));
  store::EnvOptions eo;
  eo.map_size = options.map_size;
  eo.max_dbs = 32;
  GONGSHU_TRY(s->env_, store::Env::open(options.state_dir + "/store", eo));
  GONGSHU_TRY(Tables tables, Tables::open(*s->env_));
  s->db_ = std::make_unique<Tables>(std::move(tables));
  GONGSHU_RETURN_IF_ERROR(migrate_unpartitioned_subjects(*s->env_, *s->db_));
  s->keyring_dir_ =
      options.keyring_dir.empty() ? options.state_dir + "/keyring" : options.keyring_dir;
  if (::mkdir(s->keyring_dir_.c_str(), 0700) != 0 && errno != EEXIST)
    return fail_errno("create " + s->keyring_dir_, errno);
  GONGSHU_RETURN_IF_ERROR(s->migrate_keys());
  // The log's origin is fixed when the store is created: checkpoints must all name one log.
  std::string origin = options.audit_origin;
  GONGSHU_RETURN_IF_ERROR(s->env_->update([&](store::WriteTxn& txn) -> Status {
    if (auto v = s->db_->meta.get(txn, "audit_origin")) {
      origin = std::string(as_chars(*v));
      return {};
    }
    return s->db_->meta.put(txn, "audit_origin", as_bytes(origin));
  }));
  audit::AuditLogOptions ao;
  ao.origin = origin;
  GONGSHU_TRY(s->audit_, audit::AuditLog::open(*s->env_, daemon_key, ao, clock));
  return s;
}

std::string DaemonStore::share_path(const std::string& dataset) const {
  return keyring_dir_ + "/" + dataset + ".share";
}

Result<crypto::DataKey> DaemonStore::share_kek(const std::string& dataset) const {
  GONGSHU_TRY(crypto::SecretBytes share,
              crypto::load_secret_file(share_path(dataset), crypto::kDataKeySize));
  auto derived = crypto::keyed_hash(master_.secret(), kShareDomain, share.view());
  return crypto::DataKey::from_secret(crypto::SecretBytes::copy_of(derived));
}

Status DaemonStore::create_data_key(store::WriteTxn& txn, const std::string& dataset) {
  GONGSHU_TRY(stored::DatasetState st, dataset_state(db_->datasets, txn, dataset));
  if (!st.wrapped_key().empty()) return {};
  if (st.destroyed_at_ms())
    return fail(ErrorCode::kPermissionDenied,
                "dataset " + dataset + " was destroyed; it gets no new data key");
  // A share left by a transaction that aborted protects nothing: no wrapped key names it.
  const std::string path = share_path(dataset);
  ::unlink(path.c_str());
  GONGSHU_RETURN_IF_ERROR(crypto::create_secret_file(path, crypto::kDataKeySize));
  keyring_generation_.fetch_add(1);  // before the commit: replicas get the share first
  GONGSHU_TRY(crypto::DataKey kek, share_kek(dataset));
  crypto::DataKey dk = crypto::DataKey::generate();
  std::string ad = std::string(kWrapDomainV2) + dataset;
  Bytes wrapped = crypto::wrap_secret(kek, as_bytes(ad), dk.secret());
  st.set_wrapped_key(wrapped.data(), wrapped.size());
  st.set_key_version(kKeyVersion);
  return db_->datasets.put(txn, dataset, as_bytes(st.SerializeAsString()));
}

Result<const crypto::DataKey*> DaemonStore::data_key(const store::Txn& txn,
                                                     const std::string& dataset) {
  auto v = db_->datasets.get(txn, dataset);
  stored::DatasetState st;
  if (v && st.ParseFromArray(v->data(), static_cast<int>(v->size())) && st.destroyed_at_ms()) {
    return fail(ErrorCode::kNotFound,
                "dataset " + dataset + " was destroyed at " +
                    format_utc(st.destroyed_at_ms() * 1'000'000) + " (data key " +
                    st.destroyed_key_id() + " crypto-shredded; requested by " +
                    st.destroy_requested_by() + ", confirmed by " + st.destroy_confirmed_by() +
                    "): its records can no longer be read");
  }
  if (!v || st.wrapped_key().empty()) {
    return fail(ErrorCode::kNotFound, "dataset " + dataset + " has no data key");
  }
  std::lock_guard lock(keys_mu_);
  if (auto it = keys_.find(st.wrapped_key()); it != keys_.end()) return &it->second;
  crypto::SecretBytes key;
  if (st.key_version() == kKeyVersion) {
    auto kek = share_kek(dataset);
    if (!kek) {
      return fail(ErrorCode::kNotFound,
                  "dataset " + dataset + ": its key share " + share_path(dataset) + " is gone (" +
                      kek.error().message() +
                      "): the dataset was destroyed, and its records can no longer be read");
    }
    std::string ad = std::string(kWrapDomainV2) + dataset;
    GONGSHU_TRY(key,
                with_context(crypto::unwrap_secret(*kek, as_bytes(ad), as_bytes(st.wrapped_key())),
                             "dataset " + dataset + " data key"));
  } else {
    std::string ad = std::string(kWrapDomain) + dataset;
    GONGSHU_TRY(
        key, with_context(crypto::unwrap_secret(master_, as_bytes(ad), as_bytes(st.wrapped_key())),
                          "dataset " + dataset + " data key"));
  }
  GONGSHU_TRY(crypto::DataKey dk, crypto::DataKey::from_secret(std::move(key)));
  auto [it, inserted] = keys_.emplace(st.wrapped_key(), std::move(dk));
  return &it->second;
}

std::string DaemonStore::data_key_id(const store::Txn& txn, const std::string& dataset) const {
  auto st = dataset_state(db_->datasets, txn, dataset);
  if (!st || st->wrapped_key().empty()) return "";
  return key_id_of(st->wrapped_key());
}

Result<std::string> DaemonStore::destroy_data_key(store::WriteTxn& txn, const std::string& dataset,
                                                  const std::string& requested_by,
                                                  const std::string& confirmed_by, int64_t at_ms) {
  GONGSHU_TRY(stored::DatasetState st, dataset_state(db_->datasets, txn, dataset));
  if (st.wrapped_key().empty())
    return fail(ErrorCode::kNotFound, "dataset " + dataset + " has no data key to destroy");
  std::string id = key_id_of(st.wrapped_key());
  st.clear_wrapped_key();
  st.set_destroyed_at_ms(at_ms);
  st.set_destroyed_key_id(id);
  st.set_destroy_requested_by(requested_by);
  st.set_destroy_confirmed_by(confirmed_by);
  GONGSHU_RETURN_IF_ERROR(db_->datasets.put(txn, dataset, as_bytes(st.SerializeAsString())));
  return id;
}

Status DaemonStore::shred_share(const std::string& dataset) {
  const std::string path = share_path(dataset);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail_errno("delete " + path, errno);
  (void)sync_dir(keyring_dir_);  // the deletion durable: best effort, as before
  keyring_generation_.fetch_add(1);
  // The unwrapped key leaves memory too (SecretBytes wipes it).
  std::lock_guard lock(keys_mu_);
  keys_.clear();
  return {};
}

Status DaemonStore::migrate_keys() {
  // Keys wrapped under the master key alone move under master key + share, in one
  // transaction; a destruction that committed without its share deletion is finished.
  std::vector<std::string> old, shredded;
  {
    GONGSHU_TRY(store::ReadTxn txn, env_->begin_read());
    auto cur = db_->datasets.cursor(txn);
    for (auto e = cur.first(); e; e = cur.next()) {
      stored::DatasetState st;
      if (!st.ParseFromArray(e->value.data(), static_cast<int>(e->value.size()))) continue;
      if (st.destroyed_at_ms()) shredded.emplace_back(as_chars(e->key));
      if (!st.wrapped_key().empty() && st.key_version() != kKeyVersion)
        old.emplace_back(as_chars(e->key));
    }
  }
  for (const auto& d : shredded) {
    if (::access(share_path(d).c_str(), F_OK) == 0) GONGSHU_RETURN_IF_ERROR(shred_share(d));
  }
  if (old.empty()) return {};
  return env_->update([&](store::WriteTxn& txn) -> Status {
    for (const auto& d : old) {
      GONGSHU_TRY(stored::DatasetState st, dataset_state(db_->datasets, txn, d));
      std::string ad = std::string(kWrapDomain) + d;
      GONGSHU_TRY(
          crypto::SecretBytes key,
          with_context(crypto::unwrap_secret(master_, as_bytes(ad), as_bytes(st.wrapped_key())),
                       "dataset " + d + " data key"));
      const std::string path = share_path(d);
      ::unlink(path.c_str());
      GONGSHU_RETURN_IF_ERROR(crypto::create_secret_file(path, crypto::kDataKeySize));
      keyring_generation_.fetch_add(1);
      GONGSHU_TRY(crypto::DataKey kek, share_kek(d));
      std::string ad2 = std::string(kWrapDomainV2) + d;
      Bytes wrapped = crypto::wrap_secret(kek, as_bytes(ad2), key);
      st.set_wrapped_key(wrapped.data(), wrapped.size());
      st.set_key_version(kKeyVersion);
      GONGSHU_RETURN_IF_ERROR(db_->datasets.put(txn, d, as_bytes(st.SerializeAsString())));
    }
    return {};
  });
}

uint64_t DaemonStore::generation() const { return keyring_generation_.load(); }

Result<std::vector<replication::KeyShare>> DaemonStore::snapshot(const store::Txn& txn) {
  std::vector<replication::KeyShare> out;
  {
    DIR* dir = ::opendir(keyring_dir_.c_str());
    if (!dir) return fail_errno("list " + keyring_dir_, errno);
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(dir)) {
      std::string_view n(e->d_name);
      if (n.size() <= kShareSuffix.size() || !n.ends_with(kShareSuffix)) continue;
      n.remove_suffix(kShareSuffix.size());
      if (share_name_ok(n)) names.emplace_back(n);
    }
    ::closedir(dir);
    for (const std::string& n : names) {
      // A share being replaced (create_data_key unlinks first) or unreadable is left out; the
      // generation moves with its replacement, so the next message carries it.
      auto share = crypto::load_secret_file(share_path(n), crypto::kDataKeySize);
      if (share) out.push_back({n, std::move(*share)});
    }
  }
  auto cur = db_->datasets.cursor(txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    stored::DatasetState st;
    if (!st.ParseFromArray(e->value.data(), static_cast<int>(e->value.size()))) continue;
    if (!st.destroyed_at_ms()) continue;
    std::string name(as_chars(e->key));
    std::erase_if(out, [&](const replication::KeyShare& k) { return k.name == name; });
    if (share_name_ok(name)) out.push_back({name, crypto::SecretBytes()});
  }
  return out;
}

Status DaemonStore::write_share(const std::string& dataset, const crypto::SecretBytes& share) {
  const std::string path = share_path(dataset);
  const std::string tmp = keyring_dir_ + "/." + dataset + ".share.tmp";
  ::unlink(tmp.c_str());
  int raw = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (raw < 0) return fail_errno("create " + tmp, errno);
  Fd fd(raw);
  size_t done = 0;
  while (done < share.size()) {
    ssize_t n = ::write(fd.get(), share.data() + done, share.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::unlink(tmp.c_str());
      return fail_errno("write " + tmp, n < 0 ? errno : EIO);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    ::unlink(tmp.c_str());
    return fail_errno("fsync " + tmp, errno);
  }
  fd = Fd();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return fail_errno("rename " + tmp, errno);
  }
  int dfd = ::open(keyring_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return fail_errno("open " + keyring_dir_, errno);
  Fd dir(dfd);
  if (::fsync(dir.get()) != 0) return fail_errno("fsync " + keyring_dir_, errno);
  keyring_generation_.fetch_add(1);
  return {};
}

Status DaemonStore::install(const std::vector<replication::KeyShare>& shares) {
  for (const replication::KeyShare& k : shares) {
    if (!share_name_ok(k.name))
      return fail(ErrorCode::kInvalidArgument,
                  "key share named '" + k.name.substr(0, 64) + "' is not a dataset id");
    if (k.share.empty()) {
      if (::access(share_path(k.name).c_str(), F_OK) == 0)
        GONGSHU_RETURN_IF_ERROR(shred_share(k.name));
      continue;
    }
    if (k.share.size() != crypto::kDataKeySize)
      return fail(ErrorCode::kInvalidArgument,
                  "key share of dataset " + k.name + " is " + std::to_string(k.share.size()) +
                      " bytes, expected " + std::to_string(crypto::kDataKeySize));
    if (auto held = crypto::load_secret_file(share_path(k.name), crypto::kDataKeySize);
        held && held->equals(k.share))
      continue;
    GONGSHU_RETURN_IF_ERROR(write_share(k.name, k.share));
  }
  return {};
}

Result<std::string> DaemonStore::next_yearly_id(store::WriteTxn& txn, std::string_view counter,
                                                std::string_view letters, int64_t now_ms) const {
  const int year = policy::WorkCalendar::local_day(now_ms).year;
  std::string prefix(letters);
  prefix += "-" + std::to_string(year) + "-";
  const std::string key = std::string(counter) + "_seq/" + prefix;
  uint64_t n = 1;
  if (auto v = db_->meta.get(txn, key); v && v->size() == 8) n = get_be64(v->data()) + 1;
  uint8_t b[8];
  put_be64(b, n);
  GONGSHU_RETURN_IF_ERROR(db_->meta.put(txn, key, ByteView(b, 8)));
  char num[24];
  std::snprintf(num, sizeof num, "%04llu", static_cast<unsigned long long>(n));
  return prefix + num;
}

crypto::Digest DaemonStore::subject_token(std::string_view identifier) const {
  return crypto::keyed_hash(subject_key_, "subject", as_bytes(identifier));
}

crypto::SecretBytes DaemonStore::derived_key(std::string_view domain,
                                             std::string_view scope) const {
  auto derived = crypto::keyed_hash(master_.secret(), domain, as_bytes(scope));
  return crypto::SecretBytes::copy_of(derived);
}

}  // namespace gongshu::daemon
