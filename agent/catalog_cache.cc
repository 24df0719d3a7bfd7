#include "agent/catalog_cache.h"

#include "core/catalog/lifecycle.h"
#include "core/util/i18n.h"

namespace gongshu::agent {

Result<CatalogCache> CatalogCache::load(const Spool& spool, const store::Txn& txn) {
  CatalogCache c;
  c.generation_ = spool.get_u64(txn, kCatalogGeneration);
  store::Cursor cur = spool.catalog().cursor(txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    v1::DatasetEntry entry;
    if (!entry.ParseFromArray(e->value.data(), static_cast<int>(e->value.size()))) {
      return fail(ErrorCode::kCorrupt,
                  trf("spool: cached catalog entry {} is corrupt", as_chars(e->key)));
    }
    std::string id = entry.id();
    c.schemas_[id] = std::make_unique<catalog::DatasetSchema>(std::move(entry));
  }
  return c;
}

Result<CatalogCache> CatalogCache::load(Spool& spool) {
  GONGSHU_TRY(store::ReadTxn txn, spool.env().begin_read());
  return load(spool, txn);
}

const catalog::DatasetSchema* CatalogCache::find(std::string_view id) const {
  auto it = schemas_.find(id);
  return it == schemas_.end() ? nullptr : it->second.get();
}

std::optional<std::string> CatalogCache::refused_state(const catalog::DatasetSchema& d) const {
  const std::string& status = d.entry().status();
  if (catalog::accepts_records(status)) return std::nullopt;
  // A rejection's reason, stored with the record (English; po/README.md).
  std::string state = status.empty() ? "in no state" : status;  // i18n-exempt
  if (auto st = catalog::parse_state(status))
    state += " (" + std::string(catalog::state_name_zh(*st)) + ")";
  return "dataset '" + d.id() + "' is " + state +
         " in the catalog, not approved: records are accepted only for an "  // i18n-exempt
         "approved dataset (R-10; `gongshu-agent catalog refresh` once it is approved)";
}

std::vector<const catalog::DatasetSchema*> CatalogCache::all() const {
  std::vector<const catalog::DatasetSchema*> out;
  for (const auto& [id, s] : schemas_) out.push_back(s.get());
  return out;
}

Result<std::vector<std::string>> store_catalog(Spool& spool,
                                               const std::vector<v1::DatasetEntry>& datasets,
                                               int64_t now_ms) {
  std::vector<std::string> warnings;
  Status s = spool.env().update([&](store::WriteTxn& txn) -> Status {
    warnings.clear();
    std::vector<std::string> old;
    {
      store::Cursor cur = spool.catalog().cursor(txn);
      for (auto e = cur.first(); e; e = cur.next()) old.emplace_back(as_chars(e->key));
    }
    for (const auto& k : old) GONGSHU_RETURN_IF_ERROR(spool.catalog().del(txn, k));
    for (const auto& d : datasets) {
      // Kept even if it looks wrong to us: the daemon's catalog is authoritative and
      // re-validates every record; the warning tells the operator.
      if (auto v = catalog::validate_dataset(d); !v) warnings.push_back(v.error().message());
      if (d.id().empty()) continue;
      std::string bytes;
      if (!d.SerializeToString(&bytes)) return fail(ErrorCode::kInternal, tr("catalog: serialise"));
      GONGSHU_RETURN_IF_ERROR(spool.catalog().put(txn, d.id(), as_bytes(bytes)));
    }
    GONGSHU_RETURN_IF_ERROR(spool.add_u64(txn, kCatalogGeneration, 1));
    return spool.put_u64(txn, kCatalogRefreshedMs, static_cast<uint64_t>(now_ms));
  });
  if (!s) return tl::unexpected(std::move(s).error());
  return warnings;
}

}  // namespace gongshu::agent
