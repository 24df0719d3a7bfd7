// Helpers for the agent tests: a test dataset and valid citizen IDs, records in the input
// formats, a background child process, and a fake daemon (api + ingest sockets with a real
// daemon key, ZAP, enrollment, catalog, batch open/verify, acks with receipts).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/audit/receipt.h"
#include "core/batch/batch.h"
#include "core/crypto/identity.h"
#include "core/ids/citizen_id.h"
#include "core/wire/codec.h"
#include "core/wire/curve_key.h"
#include "core/wire/enroll_token.h"
#include "core/wire/poller.h"
#include "core/wire/server_channel.h"
#include "core/wire/zap_handler.h"
#include "gongshu/v1/api.pb.h"
#include "gongshu/v1/batch.pb.h"
#include "gongshu/v1/record.pb.h"

extern char** environ;

namespace gongshu::agent::testing {

template <typename T>
T must(Result<T> r) {
  if (!r) throw std::runtime_error(r.error().message());
  return std::move(*r);
}
inline void must(Status s) {
  if (!s) throw std::runtime_error(s.error().message());
}

inline constexpr const char* kDataset = "test.people";
inline constexpr const char* kAgency = "sjz-test";

// A person dataset: name (text, required), age (integer), score (real), active (boolean),
// born (date), seen (timestamp), note (text), photo (blob, biometric; no legal basis).
inline v1::DatasetEntry test_dataset() {
  v1::DatasetEntry e;
  e.set_id(kDataset);
  e.set_name("测试人口");
  e.set_provider_agency(kAgency);
  e.set_grade("general-1");
  e.set_open_attribute("closed");
  e.set_share_attribute("conditional");
  e.set_update_frequency("daily");
  e.set_subject_kind("person");
  e.set_category("population");
  e.set_status("approved");
  auto add = [&](const char* name, v1::FieldType t, v1::PiiKind pii, bool required) {
    auto* f = e.add_fields();
    f->set_name(name);
    f->set_type(t);
    f->set_pii(pii);
    f->set_required(required);
  };
  add("name", v1::FIELD_TYPE_TEXT, v1::PII_NAME, true);
  add("age", v1::FIELD_TYPE_INTEGER, v1::PII_NONE, false);
  add("score", v1::FIELD_TYPE_REAL, v1::PII_NONE, false);
  add("active", v1::FIELD_TYPE_BOOLEAN, v1::PII_NONE, false);
  add("born", v1::FIELD_TYPE_DATE, v1::PII_BIRTH_DATE, false);
  add("seen", v1::FIELD_TYPE_TIMESTAMP, v1::PII_NONE, false);
  add("note", v1::FIELD_TYPE_TEXT, v1::PII_NONE, false);
  add("photo", v1::FIELD_TYPE_BLOB, v1::PII_BIOMETRIC, false);
  return e;
}

// A valid citizen ID number: region 110105, born 1990-01-01, sequence n % 1000.
inline std::string citizen_id(int n) {
  char body[32];
  std::snprintf(body, sizeof body, "11010519900101%03d", (n % 1000 + 1000) % 1000);
  auto c = ids::citizen_id_check_char(std::string_view(body, 17));
  return std::string(body, 17) + *c;
}

// One JSON Lines record of about `size` bytes when serialised.
inline std::string jsonl_record(int i, size_t size = 200, const std::string& key_prefix = "r") {
  char key[32];
  std::snprintf(key, sizeof key, "%s%06d", key_prefix.c_str(), i);
  std::string note(size > 150 ? size - 150 : 1, 'x');
  return std::string("{\"record_key\":\"") + key + "\",\"subject_id\":\"" + citizen_id(i) +
         "\",\"fields\":{\"name\":\"张三" + std::to_string(i) +
         "\",\"age\":" + std::to_string(20 + i % 50) +
         ",\"score\":1.5,\"active\":true,\"born\":\"1990-01-01\",\"seen\":"
         "\"2024-05-01T08:30:00+08:00\",\"note\":\"" +
         note + "\"}}";
}

// A child process running in the background with its output in files.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log_prefix)
      : out_(log_prefix + ".out"), err_(log_prefix + ".err") {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> args = argv;
    std::vector<char*> argp;
    for (auto& s : args) argp.push_back(s.data());
    argp.push_back(nullptr);
    int rc = posix_spawn(&pid_, argp[0], &fa, nullptr, argp.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0]);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void signal(int sig) { ::kill(pid_, sig); }
  // Waits for the exit; returns the exit code, or -signal.
  int wait() {
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
  }
  bool running() {
    if (pid_ <= 0) return false;
    int st;
    return ::waitpid(pid_, &st, WNOHANG) == 0;
  }
  pid_t pid() const { return pid_; }
  const std::string& err_path() const { return err_; }

 private:
  pid_t pid_ = -1;
  std::string out_, err_;
};

// What the fake daemon has stored; survives the daemon's restarts.
struct DaemonState {
  std::mutex mu;
  std::array<uint8_t, 16> secret{};
  std::set<std::string> enrolled;  // agent public keys (hex)
  bool token_used = false;
  // batch_seq -> the SealedBatch first received (re-serialised without reported_backlog), and
  // the stored records
  std::map<uint64_t, std::string> batches;
  std::map<uint64_t, std::vector<std::string>> records;
  std::map<uint64_t, v1::BatchAck> acks;
  uint64_t duplicates = 0;
  uint64_t mismatched_resends = 0;  // a resend whose bytes differ: must stay 0
  uint64_t refused_batches = 0;
  std::map<uint64_t, v1::BatchErrorCode> fail_once;  // refuse this batch_seq once with this code
  uint64_t records_stored() {
    std::lock_guard l(mu);
    uint64_t n = 0;
    for (auto& [s, r] : records) n += r.size();
    return n;
  }
  size_t batch_count() {
    std::lock_guard l(mu);
    return batches.size();
  }
};

// The fake gongshud: binds api and ingest (OS-chosen ports, or the given ones on a restart),
// runs a serving thread until destroyed.
class FakeDaemon {
 public:
  FakeDaemon(DaemonState& state, const crypto::IdentityKey& key, std::string api = "",
             std::string ingest = "",
             std::chrono::milliseconds ack_delay = std::chrono::milliseconds(0))
      : state_(state), key_(key), ack_delay_(ack_delay) {
    context_.emplace(must(wire::Context::create()));
    zap_.emplace(must(wire::ZapHandler::start(
        *context_, [this](const wire::CurveKey& k, std::string_view domain) {
          return authorize(k, domain);
        })));
    wire::ServerOptions ao;
    ao.zap_domain = "gongshu.api";
    api_.emplace(must(wire::ServerChannel::create(*context_, *zap_, key_, ao)));
    wire::ServerOptions io;
    io.zap_domain = "gongshu.ingest";
    ingest_.emplace(must(wire::ServerChannel::create(*context_, *zap_, key_, io)));
    api_endpoint_ = must(api_->bind(api.empty() ? "tcp://127.0.0.1:*" : api));
    ingest_endpoint_ = must(ingest_->bind(ingest.empty() ? "tcp://127.0.0.1:*" : ingest));
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeDaemon() {
    stop_ = true;
    thread_.join();
    ingest_.reset();
    api_.reset();
    zap_.reset();
    context_.reset();
  }

  const std::string& api_endpoint() const { return api_endpoint_; }
  const std::string& ingest_endpoint() const { return ingest_endpoint_; }
  std::string token() const {
    wire::EnrollTokenData t;
    t.daemon_key = key_.public_key();
    t.secret = state_.secret;
    t.api_endpoint = api_endpoint_;
    return wire::format_enroll_token(t);
  }
  // Records whose key starts with this are refused by the daemon (RECORD_STATUS_SCHEMA).
  std::string reject_prefix = "bad-";

 private:
  std::optional<std::string> authorize(const wire::CurveKey& k, std::string_view domain) {
    std::lock_guard l(state_.mu);
    for (const auto& hex : state_.enrolled) {
      auto pk = crypto::PublicKey::from_hex(hex);
      if (pk && wire::curve_key_of(*pk) && *wire::curve_key_of(*pk) == k) return hex;
    }
    if (domain == "gongshu.api") return std::string("public");
    return std::nullopt;
  }

  void serve() {
    wire::Poller poller;
    poller.add(*api_);
    poller.add(*ingest_);
    while (!stop_) {
      auto ready = poller.wait(std::chrono::milliseconds(20));
      if (!ready) continue;
      for (size_t i : *ready) {
        auto got = (i == 0 ? *api_ : *ingest_).receive(std::chrono::milliseconds(0));
        if (!got || !*got) continue;
        if (i == 0) {
          on_api(**got);
        } else {
          on_ingest(**got);
        }
      }
    }
  }

  void on_api(const wire::Incoming& in) {
    auto req = wire::decode_as<v1::ApiRequest>(in.payload, 1 << 20);
    if (!req) return;
    v1::ApiResponse resp;
    resp.set_request_id(req->request_id());
    if (req->has_enroll()) {
      auto t = wire::parse_enroll_token(req->enroll().token());
      std::lock_guard l(state_.mu);
      if (!t || t->secret != state_.secret || state_.token_used) {
        resp.mutable_error()->set_code(v1::API_DENIED);
        resp.mutable_error()->set_message("enrollment token unknown, expired or used");
      } else {
        auto pk = crypto::PublicKey::from_hex(req->enroll().agent_public_key());
        state_.token_used = true;
        state_.enrolled.insert(pk->hex());
        resp.mutable_enroll()->set_agency(kAgency);
        resp.mutable_enroll()->set_agent_key_id(pk->key_id());
        resp.mutable_enroll()->set_daemon_public_key(key_.public_key().hex());
        resp.mutable_enroll()->set_ingest_endpoint(ingest_endpoint_);
      }
    } else if (req->has_catalog()) {
      if (in.user_id == "public") {
        resp.mutable_error()->set_code(v1::API_DENIED);
        resp.mutable_error()->set_message("the catalog needs an enrolled key");
      } else {
        *resp.mutable_catalog()->add_datasets() = test_dataset();
      }
    } else {
      resp.mutable_error()->set_code(v1::API_BAD_REQUEST);
      resp.mutable_error()->set_message("unsupported");
    }
    // A reply the agent cannot take is lost as a real daemon's would be: the agent asks again,
    // and a test that needs the answer fails on its wait.
    (void)api_->send(in.from, must(wire::encode(resp)));
  }

  void on_ingest(const wire::Incoming& in) {
    if (ack_delay_.count() > 0) std::this_thread::sleep_for(ack_delay_);
    auto sealed = wire::decode_as<v1::SealedBatch>(in.payload, 64 << 20);
    if (!sealed) return;
    // What the agent sealed, without the advisory backlog figure each send carries.
    v1::SealedBatch as_sealed = *sealed;
    as_sealed.clear_reported_backlog();
    const std::string sealed_bytes = as_sealed.SerializeAsString();
    v1::BatchAck ack;
    {
      std::lock_guard l(state_.mu);
      auto it = state_.batches.find(sealed->batch_seq());
      if (it != state_.batches.end()) {
        ++state_.duplicates;
        if (it->second != sealed_bytes) ++state_.mismatched_resends;
        ack = state_.acks[sealed->batch_seq()];
        ack.set_duplicate(true);
        // Lost if the agent cannot take it: it resends, as from a real daemon.
        (void)ingest_->send(in.from, must(wire::encode(ack)));
        return;
      }
    }
    {
      std::lock_guard l(state_.mu);
      auto f = state_.fail_once.find(sealed->batch_seq());
      if (f != state_.fail_once.end()) {
        ack.set_batch_seq(sealed->batch_seq());
        ack.set_error(f->second);
        ack.set_error_message("refused by the test");
        state_.fail_once.erase(f);
        ++state_.refused_batches;
        // Lost if the agent cannot take it: it resends, as from a real daemon.
        (void)ingest_->send(in.from, must(wire::encode(ack)));
        return;
      }
    }
    auto agent_key = must(crypto::PublicKey::from_hex(in.user_id));
    batch::Limits limits;
    ack.set_batch_seq(sealed->batch_seq());
    google::protobuf::Arena arena;
    auto opened = batch::open_batch(key_, *sealed, limits, arena);
    if (!opened) {
      ack.set_error(opened.error().code);
      ack.set_error_message(opened.error().message);
    } else {
      auto hash =
          batch::verify_batch(*opened, sealed->batch_seq(), agent_key, key_.public_key(), limits);
      if (!hash) {
        ack.set_error(hash.error().code);
        ack.set_error_message(hash.error().message);
      } else {
        std::vector<std::string> stored;
        for (size_t i = 0; i < opened->records.size(); ++i) {
          const std::string_view bytes = opened->records[i];
          v1::Record r;
          r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
          if (r.record_key().starts_with(reject_prefix)) {
            auto* st = ack.add_statuses();
            st->set_index(uint32_t(i));
            st->set_code(v1::RECORD_STATUS_SCHEMA);
            st->set_field("record_key");
            st->set_reason("the daemon does not like this key");
            continue;
          }
          stored.emplace_back(bytes);
        }
        ack.set_accepted(uint32_t(stored.size()));
        audit::Hash zero{};
        *ack.mutable_receipt() = audit::make_receipt(key_, *hash, sealed->batch_seq(), zero,
                                                     sealed->batch_seq(), zero, 1);
        std::lock_guard l(state_.mu);
        state_.batches[sealed->batch_seq()] = sealed_bytes;
        state_.records[sealed->batch_seq()] = std::move(stored);
        state_.acks[sealed->batch_seq()] = ack;
      }
    }
    if (ack.error() != v1::BATCH_OK) {
      std::lock_guard l(state_.mu);
      ++state_.refused_batches;
    }
    // Lost if the agent cannot take it: it resends, as from a real daemon.
    (void)ingest_->send(in.from, must(wire::encode(ack)));
  }

  DaemonState& state_;
  const crypto::IdentityKey& key_;
  std::chrono::milliseconds ack_delay_;
  std::optional<wire::Context> context_;
  std::optional<wire::ZapHandler> zap_;
  std::optional<wire::ServerChannel> api_;
  std::optional<wire::ServerChannel> ingest_;
  std::string api_endpoint_, ingest_endpoint_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace gongshu::agent::testing
