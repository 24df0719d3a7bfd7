// Writes the seed corpora of the fuzz targets into DIR/<target>/ (fuzz/corpus in the tree):
// valid examples of every input, made with the fixed keys and the sample log of
// fuzz_support.h, so each fuzzer starts from real shapes and its seeds' signatures verify.
// The TOML seeds of the catalog and policy targets are the shipped examples under policies/
// (the policy files joined into one, without their comments). Usage: fuzz_seeds DIR
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "agent/agent.pb.h"
#include "core/audit/export_file.h"
#include "core/audit/proof_file.h"
#include "core/audit/receipt.h"
#include "core/audit/verify.h"
#include "core/batch/batch.h"
#include "core/crypto/key_file.h"
#include "core/crypto/seal.h"
#include "core/policy/policy.h"
#include "core/wire/agent_key_rotation.h"
#include "core/wire/enroll_token.h"
#include "daemon/config.h"
#include "fuzz/fuzz_support.h"
#include "gongshu/v1/api.pb.h"

using namespace gongshu;

namespace {

std::filesystem::path root;

void write(const std::string& target, const std::string& name, std::string_view bytes) {
  std::filesystem::create_directories(root / target);
  std::ofstream out(root / target / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  GONGSHU_CHECK(out.good());
}

void write(const std::string& target, const std::string& name,
           const google::protobuf::MessageLite& m) {
  write(target, name, m.SerializeAsString());
}

constexpr std::string_view kCitizenId = "11010519491231002X";
constexpr std::string_view kCreditCode = "91350100M000100Y43";

v1::Record full_record() {
  v1::Record r;
  r.set_dataset("fuzz.all_types");
  r.set_record_key("hh-1");
  r.set_subject_id(std::string(kCitizenId));
  r.set_observed_at_ms(1795748550000);
  auto add = [&](const char* name) {
    auto* f = r.add_fields();
    f->set_name(name);
    return f->mutable_value();
  };
  add("citizen_id")->set_text(std::string(kCitizenId));
  add("name")->set_text("张三");
  add("credit_code")->set_text(std::string(kCreditCode));
  add("count")->set_integer(-42);
  add("ratio")->set_real(0.25);
  add("flag")->set_boolean(true);
  add("photo")->set_blob(std::string("\x00\xff\x10", 3));
  add("born")->set_date_days(-7305);
  add("seen")->set_timestamp_ms(1795748550123);
  return r;
}

v1::Record invalidation() {
  v1::Record r;
  r.set_dataset("fuzz.all_types");
  r.set_record_key("hh-2");
  r.set_op(v1::RECORD_OP_INVALIDATE);
  r.set_invalidate_reason("entered twice");
  return r;
}

v1::SealedBatch sealed_batch(uint64_t seq, const std::vector<std::string>& records) {
  v1::BatchHeader h;
  h.set_agency("sjz-fuzz");
  h.set_batch_seq(seq);
  h.set_created_at_ms(1795748550000);
  auto sealed = batch::seal_batch(fuzz::agent_key(), fuzz::daemon_key().public_key(), h, records);
  GONGSHU_CHECK(sealed.has_value());
  return *sealed;
}

std::string plaintext(const v1::SealedBatch& sealed) {
  auto plain = crypto::open_sealed(fuzz::daemon_key(), as_bytes(sealed.sealed()));
  GONGSHU_CHECK(plain.has_value());
  return std::string(as_chars(*plain));
}

std::string export_file(uint64_t from, uint64_t to, std::vector<uint64_t> checkpoints) {
  const auto& log = fuzz::sample_log();
  const std::string path = fuzz::scratch_path() + ".export";
  ::unlink(path.c_str());
  auto w = audit::ExportWriter::create(path);
  GONGSHU_CHECK(w.has_value());
  for (uint64_t seq = from; seq <= to; ++seq) {
    GONGSHU_CHECK(w->write_frame(audit::FrameType::kEntry, as_bytes(log.entries[seq - 1])));
    for (uint64_t c : checkpoints) {
      if (c == seq) {
        GONGSHU_CHECK(w->write_frame(audit::FrameType::kCheckpoint, as_bytes(log.checkpoint(c))));
      }
    }
  }
  GONGSHU_CHECK(w->finish().has_value());
  auto bytes = read_file(path, 1 << 20);
  GONGSHU_CHECK(bytes.has_value());
  ::unlink(path.c_str());
  return std::string(as_chars(*bytes));
}

std::string key_file(crypto::KeyKind kind, const crypto::IdentityKey& key) {
  const std::string path = fuzz::scratch_path() + ".key";
  ::unlink(path.c_str());
  GONGSHU_CHECK(crypto::save_key_file(path, kind, key).has_value());
  auto bytes = read_file(path, 4096);
  GONGSHU_CHECK(bytes.has_value());
  ::unlink(path.c_str());
  return std::string(as_chars(*bytes));
}

audit::InclusionProofFile inclusion(uint64_t seq, uint64_t size) {
  const auto& log = fuzz::sample_log();
  audit::InclusionProofFile p;
  p.seq = seq;
  p.tree_size = size;
  p.entry = to_bytes(log.entries[seq - 1]);
  p.path = audit::inclusion_proof(log.tree, seq - 1, size);
  p.checkpoint = log.checkpoint(size);
  return p;
}

v1::Receipt receipt(const crypto::IdentityKey& key, uint64_t seq, uint64_t size) {
  const auto& log = fuzz::sample_log();
  return audit::make_receipt(key, batch::batch_hash(v1::BatchHeader()), seq,
                             audit::entry_hash(as_bytes(log.entries[seq - 1])), size,
                             audit::subtree_root(log.tree, 0, size), 1795748550000);
}

std::string source_file(const std::string& relative) {
  auto bytes = read_file(std::string(GONGSHU_SOURCE_DIR) + "/" + relative, 1 << 20);
  GONGSHU_CHECK(bytes.has_value());
  return std::string(as_chars(*bytes));
}

// The text without its comment lines and blank lines, to keep the seed small.
std::string without_comments(std::string_view text) {
  std::string out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const size_t start = line.find_first_not_of(' ');
    if (start == std::string_view::npos || line[start] == '#') continue;
    out.append(line).push_back('\n');
  }
  return out;
}

constexpr std::string_view kAgreements = R"([[agreement]]
id = "KF-2026-0001"
kind = "open"
status = "active"
holder = "3f2a9c0d1e4b5a67"
purposes = ["traffic-research"]
valid_from = 2026-01-01T00:00:00+08:00
valid_to = 2027-01-01
rows_remaining = 10000
[[agreement.scope]]
dataset = "fuzz.all_types"
fields = ["name", "born"]

[[agreement]]
id = "GX-2026-0002"
kind = "share"
status = "active"
holder = "sjz-fuzz"
purposes = ["public-service"]
valid_from = 2026-01-01
valid_to = 2028-01-01
[[agreement.scope]]
dataset = "fuzz.all_types"
fields = ["*"]
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seeds DIR\n";
    return 2;
  }
  root = argv[1];
  const std::string rec = full_record().SerializeAsString();
  const std::string inv = invalidation().SerializeAsString();

  write("record_view", "full", rec);
  write("record_view", "invalidate", inv);
  write("record_view", "empty", "");

  const v1::SealedBatch two = sealed_batch(7, {rec, inv});
  write("batch", "two_records", plaintext(two));
  write("batch", "no_records", plaintext(sealed_batch(1, {})));

  write("ingest_request", "two_records", two);
  v1::SealedBatch backlog = sealed_batch(8, {inv});
  backlog.set_reported_backlog(12);
  write("ingest_request", "backlog", backlog);

  {
    v1::ApiRequest req;
    req.set_request_id(1);
    req.mutable_ping();
    write("api_request", "ping", req);

    wire::EnrollTokenData token;
    token.daemon_key = fuzz::daemon_key().public_key();
    token.secret.fill(7);
    token.api_endpoint = "tcp://127.0.0.1:7401";
    req.Clear();
    req.set_request_id(2);
    req.mutable_enroll()->set_token(wire::format_enroll_token(token));
    req.mutable_enroll()->set_agent_public_key(fuzz::agent_key().public_key().hex());
    req.mutable_enroll()->set_hostname("host-1");
    write("api_request", "enroll", req);

    req.Clear();
    req.set_request_id(3);
    auto sig = wire::sign_agent_key_rotation(fuzz::fixed_key(4), fuzz::agent_key().public_key(),
                                             fuzz::daemon_key().public_key());
    req.mutable_agent_key_rotate()->set_new_public_key(fuzz::fixed_key(4).public_key().hex());
    req.mutable_agent_key_rotate()->set_signature(sig.data(), sig.size());
    write("api_request", "agent_key_rotate", req);

    req.Clear();
    req.set_request_id(4);
    *req.mutable_catalog_add()->mutable_entry() = fuzz::schema().entry();
    write("api_request", "catalog_add", req);

    req.Clear();
    req.set_request_id(5);
    req.mutable_query()->set_dataset("fuzz.all_types");
    req.mutable_query()->set_subject_id(std::string(kCitizenId));
    req.mutable_query()->add_fields("name");
    req.mutable_query()->set_purpose("traffic-research");
    write("api_request", "query", req);

    v1::BatchAck ack;
    ack.set_batch_seq(7);
    ack.set_accepted(2);
    *ack.mutable_receipt() = receipt(fuzz::daemon_key(), 5, 8);
    write("api_request", "batch_ack", ack);
  }

  // Each export seed verifies, so the fuzzer starts from exports the verifier accepts whole.
  auto exported = [](const std::string& name, uint64_t from, uint64_t to,
                     std::vector<uint64_t> checkpoints) {
    const std::string bytes = export_file(from, to, std::move(checkpoints));
    audit::VerifyOptions options;
    options.key = fuzz::daemon_key().public_key();
    options.allow_excerpt = from > 1;
    const audit::VerifyReport report = audit::verify_export(fuzz::scratch_file(bytes), options);
    if (report.status != audit::VerifyStatus::kOk) {
      std::cerr << name << ": " << report.reason << "\n";
      std::abort();
    }
    write("export_verify", name, bytes);
  };
  exported("full", 1, fuzz::kLogSize, {8, 16, 24});
  exported("first_eight", 1, 8, {8});
  exported("excerpt", 9, fuzz::kLogSize, {16, 24});

  const auto& log = fuzz::sample_log();
  write("checkpoint", "one_signature", log.checkpoint(8));
  write("checkpoint", "two_signatures", log.checkpoint(16));
  write("checkpoint", "next_key", log.checkpoint(24));

  GONGSHU_CHECK(audit::verify_receipt(receipt(fuzz::next_daemon_key(), 20, 24),
                                      fuzz::next_daemon_key().public_key())
                    .has_value());
  write("receipt", "daemon_key", audit::format_receipt_text(receipt(fuzz::daemon_key(), 5, 8)));
  write("receipt", "next_key",
        audit::format_receipt_text(receipt(fuzz::next_daemon_key(), 20, 24)));

  write(
      "rotation", "statement",
      audit::format_rotation_text(audit::make_rotation_statement(
          std::string(fuzz::kOrigin), fuzz::daemon_key(), fuzz::next_daemon_key(), 1795748550000)));

  const crypto::PublicKey keys[] = {fuzz::daemon_key().public_key(),
                                    fuzz::next_daemon_key().public_key()};
  GONGSHU_CHECK(audit::check_inclusion_proof(inclusion(5, 8), keys).has_value());
  GONGSHU_CHECK(audit::check_inclusion_proof(inclusion(12, 16), keys).has_value());
  write("proof_file", "inclusion_5_of_8", audit::format_inclusion_proof(inclusion(5, 8)));
  write("proof_file", "inclusion_12_of_16", audit::format_inclusion_proof(inclusion(12, 16)));
  audit::ConsistencyProofFile consistency;
  consistency.old_size = 8;
  consistency.new_size = 24;
  consistency.path = audit::consistency_proof(log.tree, 8, 24);
  GONGSHU_CHECK(
      audit::check_consistency_proof(log.checkpoint(8), log.checkpoint(24), consistency, keys)
          .has_value());
  write("proof_file", "consistency_8_24", audit::format_consistency_proof(consistency));

  // Fuzzing keys: their seeds are public (fuzz_support.h), never a real key.
  write("key_file", "agent", key_file(crypto::KeyKind::kAgent, fuzz::agent_key()));
  write("key_file", "daemon", key_file(crypto::KeyKind::kDaemon, fuzz::daemon_key()));

  {
    wire::EnrollTokenData token;
    token.daemon_key = fuzz::daemon_key().public_key();
    token.secret.fill(0xA5);
    token.api_endpoint = "tcp://gongshu.example:7401";
    write("enroll_token", "token", wire::format_enroll_token(token));
    token.api_endpoint = "ipc:///run/gongshud/api.sock";
    write("enroll_token", "ipc_endpoint", wire::format_enroll_token(token));
  }

  write("dataset_toml", "all_types.toml", fuzz::kSchemaToml);
  for (const char* name : {"population_household.toml", "legal_person_registration.toml"}) {
    const std::string text = source_file(std::string("policies/catalog/") + name);
    GONGSHU_CHECK(catalog::parse_dataset_toml(text, name).has_value());
    write("dataset_toml", name, text);
  }

  std::string policy;
  for (const char* name : {"policy.toml", "grades.toml", "masks.toml", "rates.toml", "rules.toml"})
    policy += without_comments(source_file(std::string("policies/policy/") + name));
  const policy::PolicySource source{"policy.toml", policy};
  if (auto parsed = policy::Policy::parse(std::span(&source, 1)); !parsed) {
    std::cerr << "policy seed: " << parsed.error().message() << "\n";
    std::abort();
  }
  write("policy_toml", "shipped_policy.toml", policy);
  if (auto parsed = policy::parse_agreements_toml(kAgreements, "agreements.toml"); !parsed) {
    std::cerr << "agreements seed: " << parsed.error().message() << "\n";
    std::abort();
  }
  write("policy_toml", "agreements.toml", kAgreements);

  write("csv_reader", "rows.csv",
        "record_key,subject_id,citizen_id,name,count,ratio,flag,born,seen,op\r\n"
        "k1,11010519491231002X,11010519491231002X,张三,3,0.5,true,1949-12-31,"
        "2026-11-27T03:02:30Z,upsert\r\n"
        "k2,,11010519491231002X,\"Li, \"\"Si\"\"\nsecond line\",-1,1e3,false,,,\n");
  write("csv_reader", "invalidate.csv",
        "\xEF\xBB\xBFrecord_key,op,invalidate_reason\nk3,invalidate,entered twice\n");

  write("jsonl_reader", "nested.jsonl",
        R"({"record_key":"k1","subject_id":"11010519491231002X","op":"upsert",)"
        R"("observed_at":"2026-11-27T03:02:30Z","fields":{"citizen_id":"11010519491231002X",)"
        R"("name":"张三","count":3,"ratio":0.5,"flag":true,"photo":"AP8Q","born":"1949-12-31",)"
        R"("seen":1795748550123}})"
        "\n");
  write("jsonl_reader", "flat.jsonl",
        R"({"record_key":7,"citizen_id":"11010519491231002X","name":"李四","count":"31"})"
        "\r\n"
        R"({"record_key":"k","op":"invalidate","invalidate_reason":"wrong"})"
        "\n");

  {
    agentpb::SubmitRequest req;
    req.set_request_id(1);
    req.set_record(rec);
    write("ipc_request", "full", req);
    req.set_request_id(2);
    req.set_record(inv);
    write("ipc_request", "invalidate", req);
  }

  write(
      "agent_config", "agent.toml",
      "[agent]\nstate_dir = \"/var/lib/gongshu-agent\"\nipc = \"ipc:///run/gongshu-agent/a.sock\"\n"
      "drop_dir = \"drop\"\nhostname = \"host-1\"\n\n[daemon]\napi = \"tcp://127.0.0.1:7401\"\n"
      "ingest = \"tcp://127.0.0.1:7400\"\npublic_key = \"" +
          fuzz::daemon_key().public_key().hex() +
          "\"\n\n[batch]\nmax_records = 1000\nmax_delay_ms = 100\nwindow = 8\n\n[limits]\n"
          "max_line_bytes = 1048576\nack_timeout_ms = 30000\nshutdown_timeout_ms = 5000\n"
          "catalog_refresh_s = 300\ndrop_rescan_ms = 5000\nspool_max_bytes = 68719476736\n");

  // gongshud.toml: the shipped file, the one the integration tests write, and one with every
  // section the shipped file leaves commented out (a replicated node with its data path on).
  const auto daemon_config = [&](const char* name, const std::string& text) {
    if (auto parsed = daemon::parse_config(text, name); !parsed) {
      std::cerr << "daemon config seed: " << parsed.error().message() << "\n";
      std::abort();
    }
    write("daemon_config", name, text);
  };
  daemon_config("shipped.toml", without_comments(source_file("packaging/config/gongshud.toml")));
  daemon_config(
      "test.toml",
      "[daemon]\nstate_dir = \"/tmp/t/state\"\n[ingest]\nendpoint = \"tcp://127.0.0.1:*\"\n"
      "[api]\nendpoint = \"tcp://127.0.0.1:*\"\n");
  daemon_config(
      "cluster.toml",
      "[daemon]\nstate_dir = \"/var/lib/gongshud\"\ndaemon_key = \"/etc/gongshu/daemon.key\"\n"
      "master_key = \"/run/credentials/master.key\"\n[ingest]\nadvertise = "
      "\"tcp://10.0.0.11:7400\"\n"
      "[policy]\ndir = \"/etc/gongshu/policies/policy\"\n[alerts]\nnotify_command = \"logger -t "
      "gongshu\"\nnotify_timeout_ms = 10000\n[drill]\nallowed = false\n[catalog]\n"
      "city_region = \"130100\"\n[cluster]\nenabled = true\nname = \"sjz\"\nnode = \"node-a\"\n"
      "etcd = [\"http://10.0.0.1:2379\", \"http://10.0.0.2:2379\"]\nlease_ttl_s = 5\n"
      "margin_ms = 1000\nadvertise_api = \"tcp://10.0.0.11:7401\"\n"
      "replication_endpoint = \"tcp://10.0.0.11:7402\"\nsync_count = 1\n"
      "node_key = \"/etc/gongshu/node.key\"\nmembers = { node-a = \"" +
          std::string(64, 'a') + "\", node-b = { key = \"" + std::string(64, 'b') +
          "\", replication = \"tcp://10.0.0.12:7402\" } }\nchangelog_max_entries = 100000\n"
          "changelog_max_mb = 4096\nreseed_key = \"/etc/gongshu/reseed.key\"\n");
  return 0;
}
