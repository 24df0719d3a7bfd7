// A real gongshud in this process (its own LMDB in a temp dir, sockets on 127.0.0.1 with
// OS-chosen ports), an operator client, and a minimal test agent built directly on core/batch
// and core/wire, so the daemon's checks can be driven with well-formed and hostile batches.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/batch/batch.h"
#include "core/crypto/identity.h"
#include "core/wire/client_channel.h"
#include "core/wire/context.h"
#include "daemon/daemon.h"
#include "gongshu/v1/api.pb.h"
#include "gongshu/v1/audit.pb.h"
#include "gongshu/v1/record.pb.h"
#include "tests/support/test_support.h"

namespace gongshu::daemon::testing {

class ApiClient {
 public:
  ApiClient(wire::Context& ctx, const crypto::IdentityKey& key, const crypto::PublicKey& daemon,
            const std::string& endpoint);
  // Sends and waits; on an ApiError returns it as the response (check resp.error()).
  v1::ApiResponse call(v1::ApiRequest req);

 private:
  std::unique_ptr<wire::ClientChannel> channel_;
  uint64_t next_ = 1;
};

struct FixtureOptions {
  const Clock* clock = nullptr;                        // default: the system clock
  std::string policy_dir;                              // default: the shipped policies/policy
  size_t max_aggregate_groups = 0;                     // default: DaemonConfig's
  std::optional<ApiLimits> api_limits = std::nullopt;  // default: DaemonConfig's
  std::string city_region = {};                        // default: DaemonConfig's
};

struct DaemonFixture {
  DaemonFixture();
  explicit DaemonFixture(FixtureOptions options);
  ~DaemonFixture();
  // Registers the example agencies and catalog of policies/.
  void add_examples();
  // Registers a government agency of Shijiazhuang (region 130100).
  void add_agency(const std::string& id, const std::string& name);
  // Enrolls a new agent for agency and returns its key.
  crypto::IdentityKey enroll(const std::string& agency);
  std::string token(const std::string& agency, uint64_t ttl_seconds = 3600);
  // Registers a principal (operator request) with a new key and returns the key.
  crypto::IdentityKey add_principal(const std::string& role, const std::string& agency = "",
                                    int64_t valid_until_ms = 0,
                                    const std::vector<std::string>& datasets = {},
                                    const std::vector<std::string>& purposes = {});
  // A client of the api socket with key (a key nobody registered is the public).
  std::unique_ptr<ApiClient> client(const crypto::IdentityKey& key);
  // Every audit entry so far, read back through an audit export of the api.
  std::vector<v1::AuditEntry> audit_entries();

  gongshu::testing::TempDir dir;
  const Clock& clock;
  DaemonConfig config;
  std::string operator_key_path;
  std::unique_ptr<crypto::IdentityKey> operator_key;
  std::unique_ptr<Daemon> daemon;
  wire::Context ctx;
  std::unique_ptr<ApiClient> op;
};

// A household record for population.household (provider sjz-gongan).
v1::Record household(const std::string& key, const std::string& citizen_id,
                     const std::string& name);
// A valid citizen ID whose sequence number is n (distinct for n < 1000).
std::string citizen_id(int n);

class TestAgent {
 public:
  TestAgent(wire::Context& ctx, const crypto::IdentityKey& key, const crypto::PublicKey& daemon,
            const std::string& ingest, std::string agency);
  // Seals records as batch seq and sends it; returns the sealed batch for replays.
  v1::SealedBatch send(uint64_t seq, const std::vector<v1::Record>& records);
  void send_raw(ByteView bytes);
  // Waits for the next ack (or nullopt on timeout / refusal at the handshake).
  std::optional<v1::BatchAck> ack(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  wire::ClientChannel& channel() { return *channel_; }

  const crypto::IdentityKey& key;
  crypto::PublicKey daemon_key;
  std::string agency;

 private:
  std::unique_ptr<wire::ClientChannel> channel_;
};

}  // namespace gongshu::daemon::testing
