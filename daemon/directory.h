// Directory: the daemon's in-memory view of who may connect and as what, built from the
// principals table. The ZAP handler consults it for every new connection (on its own thread),
// and the ingest and api handlers consult it for every message, because a connection accepted
// before a revocation stays open: a revoked key must stop working from its next message.
//
// CatalogView: the catalog table's entries compiled into schemas, swapped whole when the catalog
// changes, so workers validate against a consistent snapshot without locking per record. The
// table holds each dataset's version in force (approved, or retired), or for a dataset never
// approved its latest version (draft, submitted, rejected: daemon/catalog_workflow.h); only
// approved entries are served or accepted, the others are there so refusals name their state.
//
// Both are thread-safe: readers take a shared lock (or a snapshot pointer), reload() replaces
// the contents under an exclusive lock.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>

#include "core/catalog/dataset.h"
#include "core/crypto/identity.h"
#include "core/wire/curve_key.h"
#include "daemon/daemon_store.h"

namespace gongshu::daemon {

struct Identity {
  std::string key_id;
  std::string role;  // agent, operator, officer, agency, applicant, licensed, reviewer
  std::string agency;
  crypto::PublicKey key;
  bool revoked = false;
};

class Directory {
 public:
  // Who may connect and as what, as one transaction sees the principals table.
  struct Contents {
    std::map<wire::CurveKey, std::string> curve_to_id;
    std::map<std::string, Identity, std::less<>> by_id;
  };
  // Reads the principals table as txn sees it; fails on a principal that does not parse or
  // whose key is unusable. A change to the principals (a revocation above all) reads the
  // directory inside its own write transaction, so a directory that cannot be built fails the
  // change instead of leaving it committed but not in force, and install()s it after the
  // commit, which cannot fail.
  static Result<Contents> read(const DaemonStore& store, const store::Txn& txn);
  void install(Contents contents);
  // read() then install().
  Status reload(const DaemonStore& store, const store::Txn& txn);
  std::optional<Identity> by_curve(const wire::CurveKey& key) const;
  std::optional<Identity> by_key_id(std::string_view key_id) const;
  size_t size() const;

 private:
  mutable std::shared_mutex mu_;
  Contents contents_;
};

class CatalogView {
 public:
  using Snapshot = std::map<std::string, catalog::DatasetSchema, std::less<>>;
  Status reload(const DaemonStore& store, const store::Txn& txn);
  std::shared_ptr<const Snapshot> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> current_ = std::make_shared<Snapshot>();
};

}  // namespace gongshu::daemon
