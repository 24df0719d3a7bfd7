#include "daemon/directory.h"

#include <mutex>

#include "daemon/stored.pb.h"

namespace gongshu::daemon {

Result<Directory::Contents> Directory::read(const DaemonStore& store, const store::Txn& txn) {
  Contents out;
  auto c = store.db().principals.cursor(txn);
  for (auto e = c.first(); e; e = c.next()) {
    stored::Principal p;
    if (!p.ParseFromArray(e->value.data(), static_cast<int>(e->value.size()))) {
      return fail(ErrorCode::kCorrupt,
                  "directory: principal " + std::string(as_chars(e->key)) + " does not parse");
    }
    GONGSHU_TRY(crypto::PublicKey key,
                with_context(crypto::PublicKey::from_bytes(as_bytes(p.public_key())),
                             "directory: principal " + std::string(as_chars(e->key))));
    GONGSHU_TRY(wire::CurveKey curve,
                with_context(wire::curve_key_of(key),
                             "directory: principal " + std::string(as_chars(e->key))));
    Identity id{key.key_id(), p.role(), p.agency(), key, p.revoked()};
    out.curve_to_id[curve] = id.key_id;
    out.by_id.emplace(id.key_id, std::move(id));
  }
  return out;
}

void Directory::install(Contents contents) {
  std::unique_lock lock(mu_);
  contents_ = std::move(contents);
}

Status Directory::reload(const DaemonStore& store, const store::Txn& txn) {
  GONGSHU_TRY(Contents next, read(store, txn));
  install(std::move(next));
  return {};
}

std::optional<Identity> Directory::by_curve(const wire::CurveKey& key) const {
  std::shared_lock lock(mu_);
  auto it = contents_.curve_to_id.find(key);
  if (it == contents_.curve_to_id.end()) return std::nullopt;
  return contents_.by_id.find(it->second)->second;
}

std::optional<Identity> Directory::by_key_id(std::string_view key_id) const {
  std::shared_lock lock(mu_);
  auto it = contents_.by_id.find(key_id);
  if (it == contents_.by_id.end()) return std::nullopt;
  return it->second;
}

size_t Directory::size() const {
  std::shared_lock lock(mu_);
  return contents_.by_id.size();
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
