#include "agent/key_rotation.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <utility>

#include "agent/failpoints.h"
#include "core/crypto/key_file.h"
#include "core/util/fd.h"
#include "core/util/i18n.h"
#include "core/wire/agent_key_rotation.h"

namespace gongshu::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr auto kPollEvery = std::chrono::milliseconds(200);
constexpr auto kRetryEvery = std::chrono::seconds(3);
constexpr auto kRequestTimeout = std::chrono::seconds(10);

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// A refusal by the daemon, as opposed to no answer.
bool is_refusal(const Error& e) {
  switch (e.code()) {
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kNotFound:
      return true;
    default:
      return false;
  }
}

// K2 goes to KEY_FILE.next whole or not at all (crypto::save_key_file_atomic: written and synced
// under KEY_FILE.next.tmp, then renamed; the .tmp, which holds the seed, removed on any failure).
// KEY_FILE.next is what says "a rotation is unfinished" (at the next start and in poll()), so it
// must never be seen empty or half written: a SIGKILL between its creation and its write left an
// empty KEY_FILE.next that no restart could load, and the service stopped at every start
// (test_key_rotation, "SIGKILL during rotate-key").
Status save_next_key(const std::string& next_path, const crypto::IdentityKey& key) {
  return with_context(crypto::save_key_file_atomic(next_path, crypto::KeyKind::kAgent, key),
                      tr("key rotation"));
}

}  // namespace

std::string next_key_path(const AgentConfig& config) { return config.key_file + ".next"; }

std::string old_key_path(const AgentConfig& config, std::string_view key_id) {
  return config.key_file + "." + std::string(key_id) + ".old";
}

std::optional<agentpb::KeyRotation> read_key_rotation(const Spool& spool, const store::Txn& txn) {
  auto v = spool.get_meta(txn, kKeyRotation);
  agentpb::KeyRotation r;
  if (!v || !r.ParseFromArray(v->data(), static_cast<int>(v->size()))) return std::nullopt;
  return r;
}

Status write_key_rotation(const Spool& spool, store::WriteTxn& txn, agentpb::KeyRotation r) {
  std::string bytes;
  r.SerializeToString(&bytes);
  return spool.put_meta(txn, kKeyRotation, as_bytes(bytes));
}

Result<v1::AgentKeyRotateResponse> request_key_rotation(
    wire::Context& context, const DaemonTarget& target, const crypto::IdentityKey& old_key,
    const crypto::IdentityKey& new_key, std::chrono::milliseconds timeout,
    const std::atomic<bool>* cancel, v1::ApiError* refused) {
  v1::ApiRequest req;
  req.set_request_id(1);
  auto* body = req.mutable_agent_key_rotate();
  body->set_new_public_key(new_key.public_key().hex());
  crypto::Signature sig = wire::sign_agent_key_rotation(new_key, old_key.public_key(), target.key);
  body->set_signature(sig.data(), sig.size());
  GONGSHU_TRY(v1::ApiResponse resp,
              with_context(api_call(context, old_key, target.key, target.api, req, timeout, cancel),
                           "key rotation"));  // i18n-exempt: the request's name
  if (refused != nullptr && resp.has_error()) *refused = resp.error();
  GONGSHU_RETURN_IF_ERROR(api_refusal(resp, "key rotation"));  // i18n-exempt: its name
  if (!resp.has_agent_key_rotate() ||
      resp.agent_key_rotate().new_key_id() != new_key.public_key().key_id()) {
    return fail(ErrorCode::kUnavailable, tr("key rotation: the daemon's answer names another key"));
  }
  return resp.agent_key_rotate();
}

KeyRotator::KeyRotator(const AgentConfig& config, Spool& spool, wire::Context& context,
                       DaemonTarget target, const Clock& clock)
    : config_(config),
      spool_(spool),
      context_(context),
      target_(std::move(target)),
      clock_(clock) {}

std::string KeyRotator::take_message() { return std::exchange(message_, std::string()); }

Result<bool> KeyRotator::poll() {
  auto now = SteadyClock::now();
  if (now < next_poll_) return wanted_;
  next_poll_ = now + kPollEvery;
  if (exists(next_key_path(config_))) return wanted_ = true;
  GONGSHU_TRY(store::ReadTxn txn, spool_.env().begin_read());
  auto r = read_key_rotation(spool_, txn);
  wanted_ = r && (r->state() == "requested" || r->state() == "sent");
  return wanted_;
}

Status KeyRotator::record(const std::string& state, const std::string& old_id,
                          const std::string& new_id, const std::string& message,
                          const v1::ApiError* refused) {
  return spool_.env().update([&](store::WriteTxn& txn) -> Status {
    agentpb::KeyRotation r = read_key_rotation(spool_, txn).value_or(agentpb::KeyRotation());
    r.set_state(state);
    r.set_old_key_id(old_id);
    r.set_new_key_id(new_id);
    r.set_message(message);
    const bool by_daemon = refused != nullptr && refused->code() != v1::API_OK;
    r.set_refusal_code(by_daemon ? v1::ApiErrorCode_Name(refused->code()) : std::string());
    r.set_refusal_reason(by_daemon ? refused->message() : std::string());
    r.set_updated_ms(clock_.now_ms());
    return write_key_rotation(spool_, txn, std::move(r));
  });
}

Result<std::optional<crypto::IdentityKey>> KeyRotator::run(const crypto::IdentityKey& current,
                                                           const std::atomic<bool>& stop) {
  auto now = SteadyClock::now();
  if (now < next_try_) return std::nullopt;
  next_try_ = now + kRetryEvery;
  const std::string next_path = next_key_path(config_);
  const std::string old_id = current.public_key().key_id();
  {
    // The daemon's key may have changed since the start (agent/daemon_key.h).
    GONGSHU_TRY(store::ReadTxn txn, spool_.env().begin_read());
    GONGSHU_TRY(target_, daemon_target(config_, spool_, txn));
  }

  // Step 2: K2 on disk, durably, before the daemon can hear of it.
  std::optional<crypto::IdentityKey> fresh;
  std::string set_aside;  // journalled with the outcome
  auto say = [&](std::string m) { message_ = set_aside.empty() ? m : set_aside + "; " + m; };
  if (exists(next_path)) {
    auto kf = crypto::load_key_file(next_path);
    if (kf) {
      fresh.emplace(std::move(kf->key));
    } else if (kf.error().code() == ErrorCode::kInvalidArgument) {
      // Unreadable: torn by an older agent killed while writing it (it wrote KEY_FILE.next in
      // place). That key never reached the daemon, which hears of K2 only once it is synced
      // whole, so it is set aside and a new K2 made.
      const std::string aside = next_path + ".unusable";
      if (::rename(next_path.c_str(), aside.c_str()) != 0) {
        return fail_errno(trf("key rotation: rename {} to {}", next_path, aside), errno);
      }
      set_aside = trf("{}; set aside as {}, a new key is made", kf.error().message(), aside);
    } else {
      return tl::unexpected(std::move(kf.error()).with_context(tr("key rotation")));
    }
  }
  if (!fresh) {
    crypto::IdentityKey k = crypto::IdentityKey::generate();
    GONGSHU_RETURN_IF_ERROR(save_next_key(next_path, k));
    fresh.emplace(std::move(k));
  }
  const std::string new_id = fresh->public_key().key_id();
  // The spool's rotation record is stored English (po/README.md); message_ is a journal line.
  GONGSHU_RETURN_IF_ERROR(record("sent", old_id, new_id, "asking the daemon"));  // i18n-exempt

  v1::ApiError refused;
  auto answer =
      request_key_rotation(context_, target_, current, *fresh, kRequestTimeout, &stop, &refused);
  if (!answer) {
    if (!is_refusal(answer.error())) {
      say(trf("{}; asking again (no batch is sealed meanwhile)", answer.error().message()));
      return std::nullopt;
    }
    // Refused: K2 was never registered, so it is of no use; K1 goes on.
    if (::unlink(next_path.c_str()) != 0 && errno != ENOENT) {
      return fail_errno(trf("key rotation: remove {}", next_path), errno);
    }
    GONGSHU_RETURN_IF_ERROR(sync_dir_of(next_path));
    say(answer.error().message());
    // Stored English (po/README.md), with the daemon's code for the reader's language.
    std::string stored = answer.error().message();
    if (refused.code() != v1::API_OK) {
      stored = i18n::format("{0}: the daemon answered {1}: {2}",  // i18n-exempt: stored English
                            {"key rotation", v1::ApiErrorCode_Name(refused.code()),  // i18n-exempt
                             refused.message()});
    }
    GONGSHU_RETURN_IF_ERROR(record("failed", old_id, new_id, stored, &refused));
    wanted_ = false;
    return std::nullopt;
  }
  // Step 3.
  failpoint(Failpoint::kRotateAfterAccept);
  GONGSHU_RETURN_IF_ERROR(finish(current, *fresh));
  say(answer->already()
          ? trf("agent key {} rotated to {} (the daemon had accepted it before)", old_id, new_id)
          : trf("agent key {} rotated to {}", old_id, new_id));
  wanted_ = false;
  return fresh;
}

Status KeyRotator::finish(const crypto::IdentityKey& old_key, const crypto::IdentityKey& new_key) {
  const std::string old_id = old_key.public_key().key_id();
  const std::string new_id = new_key.public_key().key_id();
  // The spool first: until KEY_FILE.next is renamed, a restart redoes all of this.
  GONGSHU_RETURN_IF_ERROR(spool_.env().update([&](store::WriteTxn& txn) -> Status {
    auto e = spool_.enrollment(txn);
    if (!e) return fail(ErrorCode::kNotFound, tr("key rotation: the spool holds no enrollment"));
    e->set_agent_key_id(new_id);
    std::string bytes;
    e->SerializeToString(&bytes);
    GONGSHU_RETURN_IF_ERROR(spool_.put_meta(txn, kEnrollment, as_bytes(bytes)));
    agentpb::KeyRotation r = read_key_rotation(spool_, txn).value_or(agentpb::KeyRotation());
    r.set_state("done");
    r.set_old_key_id(old_id);
    r.set_new_key_id(new_id);
    r.set_message("rotated; the old key file is " + old_key_path(config_, old_id));  // i18n-exempt
    r.set_updated_ms(clock_.now_ms());
    return write_key_rotation(spool_, txn, std::move(r));
  }));
  const std::string old_path = old_key_path(config_, old_id);
  if (::link(config_.key_file.c_str(), old_path.c_str()) != 0 && errno != EEXIST) {
    return fail_errno(trf("key rotation: keep {} as {}", config_.key_file, old_path), errno);
  }
  const std::string next_path = next_key_path(config_);
  failpoint(Failpoint::kRotateBeforeRename);
  if (::rename(next_path.c_str(), config_.key_file.c_str()) != 0) {
    return fail_errno(trf("key rotation: rename {} to {}", next_path, config_.key_file), errno);
  }
  // A torn K2 set aside by an earlier attempt (step 2) is of no use once the rotation is done.
  const std::string unusable = next_path + ".unusable";
  if (::unlink(unusable.c_str()) != 0 && errno != ENOENT) {
    return fail_errno(trf("key rotation: remove {}", unusable), errno);
  }
  return sync_dir_of(config_.key_file);
}

}  // namespace gongshu::agent
