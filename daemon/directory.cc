#include "daemon/directory.h"

#include <mutex>

#include "daemon/stored.pb.h"

namespace gongshu::daemon {

Status Directory::reload(const DaemonStore& store, const store::Txn& txn) {
  std::map<wire::CurveKey, std::string> curve_to_id;
  std::map<std::string, Identity, std::less<>> by_id;
  auto c = store.db().principals.cursor(txn);
  for (auto e = c.first(); e; e = c.next()) {
    stored::Principal p;
    if (!p.ParseFromArray(e->value.data(), static_cast<int>(e->value.size()))) {
      return fail(ErrorCode::kCorrupt,
                  "principal " + std::string(as_chars(e->key)) + " does not parse");
    }
    GONGSHU_TRY(crypto::PublicKey key, crypto::PublicKey::from_bytes(as_bytes(p.public_key())));
    GONGSHU_TRY(wire::CurveKey curve, wire::curve_key_of(key));
    Identity id{key.key_id(), p.role(), p.agency(), key, p.revoked()};
    curve_to_id[curve] = id.key_id;
    by_id.emplace(id.key_id, std::move(id));
  }
  std::unique_lock lock(mu_);
  curve_to_id_ = std::move(curve_to_id);
  by_id_ = std::move(by_id);
  return {};
}

std::optional<Identity> Directory::by_curve(const wire::CurveKey& key) const {
  std::shared_lock lock(mu_);
  auto it = curve_to_id_.find(key);
  if (it == curve_to_id_.end()) return std::nullopt;
  return by_id_.find(it->second)->second;
}

std::optional<Identity> Directory::by_key_id(std::string_view key_id) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(key_id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

size_t Directory::size() const {
  std::shared_lock lock(mu_);
  return by_id_.size();
}

Status CatalogView::reload(const DaemonStore& store, const store::Txn& txn) {
  auto snap = std::make_shared<Snapshot>();
  auto c = store.db().catalog.cursor(txn);
  for (auto e = c.first(); e; e = c.next()) {
    v1::DatasetEntry entry;
    if (!entry.ParseFromArray(e->value.data(), static_cast<int>(e->value.size()))) {
      return fail(ErrorCode::kCorrupt,
                  "catalog entry " + std::string(as_chars(e->key)) + " does not parse");
    }
    std::string id = entry.id();
    snap->emplace(id, catalog::DatasetSchema(std::move(entry)));
  }
  std::lock_guard lock(mu_);
  current_ = std::move(snap);
  return {};
}

std::shared_ptr<const CatalogView::Snapshot> CatalogView::snapshot() const {
  std::lock_guard lock(mu_);
  return current_;
}

}  // namespace gongshu::daemon
