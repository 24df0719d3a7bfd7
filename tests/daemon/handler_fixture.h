// The api handlers' world without sockets: a DaemonStore in a temporary directory (with a map
// as small as a test needs), its directory and catalog, no policy, a rate limiter and the
// ApiContext the handlers of daemon/*.h take. For handlers whose failure paths a socket cannot
// reach: a store that is full, a directory that cannot be read.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/crypto/identity.h"
#include "daemon/api_context.h"
#include "daemon/stored.pb.h"
#include "tests/support/test_support.h"

namespace gongshu::daemon::testing {

struct HandlerFixture {
  explicit HandlerFixture(size_t map_size = size_t{64} << 20);

  // Registers a principal directly in the store and reloads the directory.
  crypto::IdentityKey add_principal(const std::string& role, const std::string& agency = "");
  // The caller a key is, as the api thread would identify it.
  Caller caller_of(const crypto::IdentityKey& key) const;
  // Fills the store's map until not even one byte under a new key can be written. Hold a read
  // transaction begun before it: that keeps the pages the filling frees from being reused, so
  // afterwards no write transaction can allocate a page.
  void fill_map();
  // The audit log's size now, and the entries appended after seq `after` (to read what a
  // handler audited).
  uint64_t audit_size();
  std::vector<v1::AuditEntry> audit_after(uint64_t after);

  gongshu::testing::TempDir dir;
  crypto::IdentityKey daemon_key = crypto::IdentityKey::generate();
  std::unique_ptr<DaemonStore> store;
  Directory directory;
  CatalogView catalog;
  PolicyView policy;
  RateLimiter limiter;
  ApiOptions options;
  std::unique_ptr<ApiContext> ctx;
};

}  // namespace gongshu::daemon::testing
