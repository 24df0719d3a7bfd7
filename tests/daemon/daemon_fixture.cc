#include "tests/daemon/daemon_fixture.h"

#include <catch2/catch.hpp>

#include "core/audit/checkpoint.h"
#include "core/audit/export_file.h"
#include "core/catalog/dataset.h"
#include "core/crypto/key_file.h"
#include "core/ids/citizen_id.h"
#include "core/util/fd.h"
#include "core/wire/codec.h"

namespace gongshu::daemon::testing {

ApiClient::ApiClient(wire::Context& ctx, const crypto::IdentityKey& key,
                     const crypto::PublicKey& daemon, const std::string& endpoint) {
  auto ch = wire::ClientChannel::create(ctx, key, daemon);
  REQUIRE(ch);
  channel_ = std::make_unique<wire::ClientChannel>(std::move(*ch));
  REQUIRE(channel_->connect(endpoint));
}

v1::ApiResponse ApiClient::call(v1::ApiRequest req) {
  req.set_request_id(next_++);
  REQUIRE(channel_->send(*wire::encode(req)));
  auto got = channel_->receive(std::chrono::seconds(20));
  REQUIRE(got);
  REQUIRE(*got);
  auto resp = wire::decode_as<v1::ApiResponse>(**got, 64 << 20);
  REQUIRE(resp);
  CHECK(resp->request_id() == req.request_id());
  return *resp;
}

DaemonFixture::DaemonFixture() : DaemonFixture(FixtureOptions{}) {}

DaemonFixture::DaemonFixture(FixtureOptions options)
    : clock(options.clock ? *options.clock : SystemClock::instance()),
      ctx(std::move(*wire::Context::create(1))) {
  operator_key_path = dir.file("operator.key");
  auto init = init_state(dir.file("state"), operator_key_path, "gongshu.test/audit", clock);
  REQUIRE(init);
  operator_key = std::make_unique<crypto::IdentityKey>(
      std::move(crypto::load_key_file(operator_key_path)->key));
  config.state_dir = dir.file("state");
  config.ingest_endpoint = "tcp://127.0.0.1:*";
  config.api_endpoint = "tcp://127.0.0.1:*";
  config.max_batch_bytes = 4 << 20;
  if (options.max_aggregate_groups) config.max_aggregate_groups = options.max_aggregate_groups;
  if (options.api_limits) config.api_limits = *options.api_limits;
  if (!options.city_region.empty()) config.city_region = options.city_region;
  config.policy_dir = options.policy_dir.empty()
                          ? std::string(GONGSHU_SOURCE_DIR) + "/policies/policy"
                          : options.policy_dir;
  auto d = Daemon::start(config, clock);
  REQUIRE(d);
  daemon = std::move(*d);
  op =
      std::make_unique<ApiClient>(ctx, *operator_key, daemon->public_key(), daemon->api_endpoint());
}

DaemonFixture::~DaemonFixture() {
  op.reset();
  daemon.reset();
}

void DaemonFixture::add_agency(const std::string& id, const std::string& name) {
  v1::ApiRequest req;
  auto* a = req.mutable_agency_add()->mutable_agency();
  a->set_id(id);
  a->set_name(name);
  a->set_type("government");
  a->set_region_code("130100");
  REQUIRE(op->call(req).error().code() == v1::API_OK);
}

void DaemonFixture::add_examples() {
  add_agency("sjz-gongan", "石家庄市公安局");
  add_agency("sjz-shichang", "石家庄市市场监督管理局");
  for (const char* f : {"population_household.toml", "legal_person_registration.toml"}) {
    std::string path = std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/" + f;
    auto text = read_file(path, 1 << 20);
    REQUIRE(text);
    auto entry = catalog::parse_dataset_toml(as_chars(*text), path);
    REQUIRE(entry);
    v1::ApiRequest req;
    *req.mutable_catalog_add()->mutable_entry() = *entry;
    auto resp = op->call(req);
    INFO(resp.error().message());
    REQUIRE(resp.error().code() == v1::API_OK);
  }
}

std::string DaemonFixture::token(const std::string& agency, uint64_t ttl_seconds) {
  v1::ApiRequest req;
  req.mutable_enroll_token_create()->set_agency(agency);
  req.mutable_enroll_token_create()->set_ttl_seconds(ttl_seconds);
  auto resp = op->call(req);
  REQUIRE(resp.error().code() == v1::API_OK);
  return resp.enroll_token().token();
}

crypto::IdentityKey DaemonFixture::enroll(const std::string& agency) {
  auto key = crypto::IdentityKey::generate();
  ApiClient client(ctx, key, daemon->public_key(), daemon->api_endpoint());
  v1::ApiRequest req;
  req.mutable_enroll()->set_token(token(agency));
  req.mutable_enroll()->set_agent_public_key(key.public_key().hex());
  req.mutable_enroll()->set_hostname("test-host");
  auto resp = client.call(req);
  INFO(resp.error().message());
  REQUIRE(resp.error().code() == v1::API_OK);
  CHECK(resp.enroll().agency() == agency);
  CHECK(resp.enroll().ingest_endpoint() == daemon->ingest_endpoint());
  return key;
}

crypto::IdentityKey DaemonFixture::add_principal(const std::string& role, const std::string& agency,
                                                 int64_t valid_until_ms,
                                                 const std::vector<std::string>& datasets,
                                                 const std::vector<std::string>& purposes) {
  auto key = crypto::IdentityKey::generate();
  v1::ApiRequest req;
  auto* p = req.mutable_principal_add();
  p->set_role(role);
  p->set_public_key(key.public_key().hex());
  p->set_agency(agency);
  p->set_name("test " + role);
  p->set_valid_until_ms(valid_until_ms);
  for (const auto& d : datasets) p->add_datasets(d);
  for (const auto& u : purposes) p->add_purposes(u);
  auto resp = op->call(req);
  INFO(resp.error().message());
  REQUIRE(resp.error().code() == v1::API_OK);
  return key;
}

std::unique_ptr<ApiClient> DaemonFixture::client(const crypto::IdentityKey& key) {
  return std::make_unique<ApiClient>(ctx, key, daemon->public_key(), daemon->api_endpoint());
}

std::vector<v1::AuditEntry> DaemonFixture::audit_entries() {
  v1::ApiRequest head;
  head.mutable_audit_checkpoint();
  auto h = op->call(head);
  REQUIRE(h.error().code() == v1::API_OK);
  auto body = audit::parse_checkpoint_note_unverified(h.audit_head().checkpoint());
  REQUIRE(body);
  std::string path = dir.file("audit-" + std::to_string(body->size) + ".gsa");
  std::string bytes;
  for (uint64_t offset = 0;;) {
    v1::ApiRequest req;
    req.mutable_audit_export()->set_from_seq(1);
    req.mutable_audit_export()->set_to_seq(body->size);
    req.mutable_audit_export()->set_offset(offset);
    auto chunk = op->call(req);
    REQUIRE(chunk.error().code() == v1::API_OK);
    bytes += chunk.audit_export().data();
    offset += chunk.audit_export().data().size();
    if (chunk.audit_export().last()) break;
  }
  gongshu::testing::write_text(path, bytes);
  auto reader = audit::ExportReader::open(path);
  REQUIRE(reader);
  std::vector<v1::AuditEntry> out;
  while (true) {
    auto frame = reader->next();
    REQUIRE(frame);
    if (!*frame) break;
    if ((*frame)->type != audit::FrameType::kEntry) continue;
    v1::AuditEntry e;
    REQUIRE(e.ParseFromArray((*frame)->data.data(), int((*frame)->data.size())));
    out.push_back(std::move(e));
  }
  return out;
}

std::string citizen_id(int n) {
  char body[24];
  std::snprintf(body, sizeof body, "13010219850612%03d", (n % 1000 + 1000) % 1000);
  auto check = ids::citizen_id_check_char(body);
  return std::string(body) + *check;
}

v1::Record household(const std::string& key, const std::string& cid, const std::string& name) {
  v1::Record r;
  r.set_dataset("population.household");
  r.set_record_key(key);
  r.set_subject_id(cid);
  auto* f = r.add_fields();
  f->set_name("citizen_id");
  f->mutable_value()->set_text(cid);
  f = r.add_fields();
  f->set_name("name");
  f->mutable_value()->set_text(name);
  f = r.add_fields();
  f->set_name("household_size");
  f->mutable_value()->set_integer(3);
  return r;
}

TestAgent::TestAgent(wire::Context& ctx, const crypto::IdentityKey& k,
                     const crypto::PublicKey& daemon, const std::string& ingest,
                     std::string agency_id)
    : key(k), daemon_key(daemon), agency(std::move(agency_id)) {
  auto ch = wire::ClientChannel::create(ctx, key, daemon);
  REQUIRE(ch);
  channel_ = std::make_unique<wire::ClientChannel>(std::move(*ch));
  REQUIRE(channel_->connect(ingest));
}

v1::SealedBatch TestAgent::send(uint64_t seq, const std::vector<v1::Record>& records) {
  std::vector<std::string> bytes;
  for (const auto& r : records) bytes.push_back(r.SerializeAsString());
  v1::BatchHeader h;
  h.set_agency(agency);
  h.set_batch_seq(seq);
  h.set_created_at_ms(SystemClock::instance().now_ms());
  auto sealed = batch::seal_batch(key, daemon_key, h, bytes);
  REQUIRE(sealed);
  send_raw(*wire::encode(*sealed));
  return *sealed;
}

void TestAgent::send_raw(ByteView bytes) { REQUIRE(channel_->send(bytes)); }

std::optional<v1::BatchAck> TestAgent::ack(std::chrono::milliseconds timeout) {
  auto got = channel_->receive(timeout);
  if (!got || !*got) return std::nullopt;
  auto ack = wire::decode_as<v1::BatchAck>(**got, 64 << 20);
  REQUIRE(ack);
  return *ack;
}

}  // namespace gongshu::daemon::testing
