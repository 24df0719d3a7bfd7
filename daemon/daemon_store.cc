#include "daemon/daemon_store.h"

#include <cstring>
#include <vector>

#include "core/crypto/keyed_hash.h"
#include "core/store/cursor.h"
#include "core/util/check.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {
namespace {

constexpr std::string_view kWrapDomain = "gongshu.datakey.v1:";

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
  return Tables{std::move(meta),         std::move(agencies),          std::move(principals),
                std::move(tokens),       std::move(catalog),           std::move(catalog_versions),
                std::move(datasets),     std::move(records),           std::move(versions),
                std::move(batches),      std::move(subjects),          std::move(subject_runs),
                std::move(agreements),   std::move(agreement_holders), std::move(violations),
                std::move(objections),   std::move(objection_marks),   std::move(consents),
                std::move(consent_index)};
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

Status DaemonStore::create_data_key(store::WriteTxn& txn, const std::string& dataset) {
  stored::DatasetState st;
  if (auto v = db_->datasets.get(txn, dataset)) {
    if (!st.ParseFromArray(v->data(), static_cast<int>(v->size()))) {
      return fail(ErrorCode::kCorrupt, "dataset " + dataset + ": stored state does not parse");
    }
    if (!st.wrapped_key().empty()) return {};
  }
  crypto::DataKey dk = crypto::DataKey::generate();
  std::string ad = std::string(kWrapDomain) + dataset;
  Bytes wrapped = crypto::wrap_secret(master_, as_bytes(ad), dk.secret());
  st.set_wrapped_key(wrapped.data(), wrapped.size());
  return db_->datasets.put(txn, dataset, as_bytes(st.SerializeAsString()));
}

Result<const crypto::DataKey*> DaemonStore::data_key(const store::Txn& txn,
                                                     const std::string& dataset) {
  auto v = db_->datasets.get(txn, dataset);
  stored::DatasetState st;
  if (!v || !st.ParseFromArray(v->data(), static_cast<int>(v->size())) ||
      st.wrapped_key().empty()) {
    return fail(ErrorCode::kNotFound, "dataset " + dataset + " has no data key");
  }
  std::lock_guard lock(keys_mu_);
  if (auto it = keys_.find(st.wrapped_key()); it != keys_.end()) return &it->second;
  std::string ad = std::string(kWrapDomain) + dataset;
  GONGSHU_TRY(crypto::SecretBytes key,
              with_context(crypto::unwrap_secret(master_, as_bytes(ad), as_bytes(st.wrapped_key())),
                           "dataset " + dataset + " data key"));
  GONGSHU_TRY(crypto::DataKey dk, crypto::DataKey::from_secret(std::move(key)));
  auto [it, inserted] = keys_.emplace(st.wrapped_key(), std::move(dk));
  return &it->second;
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
