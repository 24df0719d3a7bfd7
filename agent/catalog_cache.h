// CatalogCache: the datasets this agent may deliver, as last fetched from the daemon and kept in
// the spool's `catalog` table, compiled into schemas for validation. The spool copy is replaced
// whole by store_catalog(), which bumps meta kCatalogGeneration so that long-running readers
// (the service's inputs) notice and reload.
//
// The cache holds the agency's datasets in whatever state the catalog shows them (approved,
// submitted, retired, ...); records are accepted only for approved ones (refused_state()).
//
// Immutable after load; share it read-only between threads or load one per thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/spool.h"
#include "core/catalog/dataset.h"
#include "gongshu/v1/catalog.pb.h"

namespace gongshu::agent {

class CatalogCache {
 public:
  static Result<CatalogCache> load(const Spool& spool, const store::Txn& txn);
  static Result<CatalogCache> load(Spool& spool);

  // nullptr when the dataset is not in the cached catalog.
  const catalog::DatasetSchema* find(std::string_view id) const;
  // Why records for dataset are refused by its catalog state: the daemon serves an
  // agency's datasets in every state, and only an approved one accepts records. nullopt when
  // it is approved (or not cached: find() says so). The reason names the dataset and its state.
  std::optional<std::string> refused_state(const catalog::DatasetSchema& dataset) const;
  std::vector<const catalog::DatasetSchema*> all() const;
  uint64_t generation() const { return generation_; }
  bool empty() const { return schemas_.empty(); }

 private:
  std::map<std::string, std::unique_ptr<catalog::DatasetSchema>, std::less<>> schemas_;
  uint64_t generation_ = 0;
};

// Replaces the cached catalog with datasets. Returns warnings about entries that fail
// catalog::validate_dataset (they are kept: the daemon's catalog is authoritative).
Result<std::vector<std::string>> store_catalog(Spool& spool,
                                               const std::vector<v1::DatasetEntry>& datasets,
                                               int64_t now_ms);

}  // namespace gongshu::agent
