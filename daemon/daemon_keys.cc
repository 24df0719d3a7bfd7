#include "daemon/daemon_keys.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "core/crypto/key_file.h"
#include "core/util/fd.h"

namespace gongshu::daemon {
namespace {

constexpr std::string_view kPendingKey = "daemon_key.pending";      // statement until activation
constexpr std::string_view kStatementKey = "daemon_key.statement";  // the latest statement

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
}

Result<crypto::IdentityKey> load_daemon_key(const std::string& path) {
  GONGSHU_TRY(crypto::KeyFile kf, crypto::load_key_file(path));
  if (kf.kind != crypto::KeyKind::kDaemon)
    return fail(ErrorCode::kInvalidArgument, path + ": not a daemon key");
  return std::move(kf.key);
}

std::optional<std::string> meta_text(DaemonStore& store, const store::Txn& txn,
                                     std::string_view key) {
  auto v = store.db().meta.get(txn, key);
  if (!v) return std::nullopt;
  return std::string(as_chars(*v));
}

}  // namespace

Result<std::unique_ptr<DaemonKeys>> DaemonKeys::load(const std::string& key_path) {
  GONGSHU_TRY(crypto::IdentityKey current, load_daemon_key(key_path));
  std::unique_ptr<DaemonKeys> keys(new DaemonKeys(key_path, std::move(current)));
  if (::access(keys->next_path().c_str(), F_OK) == 0) {
    GONGSHU_TRY(crypto::IdentityKey next, load_daemon_key(keys->next_path()));
    keys->next_ = std::make_unique<crypto::IdentityKey>(std::move(next));
  }
  return keys;
}

Result<std::optional<audit::RotationStatement>> DaemonKeys::activate(DaemonStore& store) {
  std::optional<std::string> pending, latest;
  {
    GONGSHU_TRY(store::ReadTxn txn, store.env().begin_read());
    pending = meta_text(store, txn, kPendingKey);
    latest = meta_text(store, txn, kStatementKey);
  }
  if (!pending) {
    if (next_) {
      // A rotation whose transaction never committed: nobody was told of this key.
      if (::unlink(next_path().c_str()) != 0 && errno != ENOENT)
        return fail_errno("remove unannounced " + next_path(), errno);
      next_.reset();
    }
    // After an earlier activation, keep opening batches sealed to the key it replaced.
    if (latest) {
      auto st = audit::parse_rotation_text(*latest);
      std::string old_path = path_ + ".old." + (st ? st->old_key.key_id() : "");
      if (st && st->new_key == current_.public_key() && ::access(old_path.c_str(), F_OK) == 0) {
        GONGSHU_TRY(crypto::IdentityKey old, load_daemon_key(old_path));
        previous_ = std::make_unique<crypto::IdentityKey>(std::move(old));
      }
    }
    return std::optional<audit::RotationStatement>();
  }
  GONGSHU_TRY(audit::RotationStatement st,
              with_context(audit::parse_rotation_text(*pending), "pending daemon key rotation"));
  std::string old_path = path_ + ".old." + st.old_key.key_id();
  if (st.old_key == current_.public_key()) {
    if (!next_ || next_->public_key() != st.new_key) {
      return fail(ErrorCode::kNotFound, "a daemon key rotation to key " + st.new_key.key_id() +
                                            " is pending, but " + next_path() +
                                            " is missing or holds another key");
    }
    // Keep the old key file under its own name, then move the next key into place: a crash
    // between the two leaves daemon.key and daemon.key.next as they were, and this runs again.
    if (::link(path_.c_str(), old_path.c_str()) != 0 && errno != EEXIST)
      return fail_errno("keep the old daemon key as " + old_path, errno);
    if (::rename(next_path().c_str(), path_.c_str()) != 0)
      return fail_errno("move " + next_path() + " to " + path_, errno);
    GONGSHU_RETURN_IF_ERROR(sync_dir(dir_of(path_)));
    previous_ = std::make_unique<crypto::IdentityKey>(std::move(current_));
    current_ = std::move(*next_);
    next_.reset();
  } else if (st.new_key == current_.public_key()) {
    // The files were switched but the key_activate entry did not commit.
    GONGSHU_TRY(crypto::IdentityKey old, load_daemon_key(old_path));
    previous_ = std::make_unique<crypto::IdentityKey>(std::move(old));
  } else {
    return fail(ErrorCode::kInvalidArgument,
                "the pending daemon key rotation hands over from key " + st.old_key.key_id() +
                    " to " + st.new_key.key_id() + ", but " + path_ + " holds key " +
                    current_.public_key().key_id());
  }
  GONGSHU_RETURN_IF_ERROR(store.env().update([&](store::WriteTxn& txn) -> Status {
    v1::AuditEntry e;
    e.mutable_principal()->set_key_id(current_.public_key().key_id());
    e.mutable_principal()->set_role("daemon");
    e.set_action(std::string(audit::kActivateAction));
    add_ref(e, "old_key", st.old_key.hex());
    add_ref(e, "new_key", st.new_key.hex());
    add_ref(e, std::string(audit::kRotationRef), *pending);
    e.set_detail("daemon key " + st.new_key.key_id() + " is in force; " + st.old_key.key_id() +
                 " is retired (kept as " + old_path + ")");
    GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
    GONGSHU_RETURN_IF_ERROR(store.db().meta.del(txn, kPendingKey));
    return {};
  }));
  return std::optional<audit::RotationStatement>(std::move(st));
}

Result<audit::RotationStatement> DaemonKeys::rotate(DaemonStore& store, const Caller& who,
                                                    uint64_t* audit_seq) {
  std::lock_guard lock(mu_);
  if (next_) {
    return fail(ErrorCode::kAlreadyExists,
                "a rotation to daemon key " + next_->public_key().key_id() +
                    " is pending; it takes effect when gongshud next starts");
  }
  auto next = crypto::IdentityKey::generate();
  // A file left by a rotation whose transaction failed was never announced.
  if (::unlink(next_path().c_str()) != 0 && errno != ENOENT)
    return fail_errno("remove unannounced " + next_path(), errno);
  GONGSHU_RETURN_IF_ERROR(crypto::save_key_file(next_path(), crypto::KeyKind::kDaemon, next));
  audit::RotationStatement st = audit::make_rotation_statement(store.audit().origin(), current_,
                                                               next, store.clock().now_ms());
  std::string text = audit::format_rotation_text(st);
  auto s = store.env().update([&](store::WriteTxn& txn) -> Status {
    GONGSHU_RETURN_IF_ERROR(store.db().meta.put(txn, kPendingKey, as_bytes(text)));
    GONGSHU_RETURN_IF_ERROR(store.db().meta.put(txn, kStatementKey, as_bytes(text)));
    v1::AuditEntry e = entry_for(who, std::string(audit::kRotateAction));
    add_ref(e, "old_key", st.old_key.hex());
    add_ref(e, "new_key", st.new_key.hex());
    add_ref(e, std::string(audit::kRotationRef), text);
    e.set_detail("daemon key rotation announced: " + st.new_key.key_id() + " succeeds " +
                 st.old_key.key_id() + " at the next start of gongshud");
    GONGSHU_TRY(audit::Appended a, store.audit().append(txn, e));
    if (audit_seq) *audit_seq = a.seq;
    return {};
  });
  if (!s) {
    // Clean-up on a failing path: a next-key file with no committed statement is never
    // activated (daemon_keys.h), so one left behind is harmless, and the error that matters
    // is the transaction's.
    (void)::unlink(next_path().c_str());
    return tl::unexpected(std::move(s).error().with_context("daemon key rotation"));
  }
  next_ = std::make_unique<crypto::IdentityKey>(std::move(next));
  store.audit().set_cosigner(next_.get());
  return st;
}

Result<v1::DaemonKeyStatus> DaemonKeys::status(DaemonStore& store) const {
  v1::DaemonKeyStatus out;
  out.set_current_public_key(current_.public_key().hex());
  {
    std::lock_guard lock(mu_);
    if (next_) out.set_next_public_key(next_->public_key().hex());
  }
  GONGSHU_TRY(store::ReadTxn txn, store.env().begin_read());
  if (auto text = meta_text(store, txn, kStatementKey)) out.set_statement(*text);
  return out;
}

Reply daemon_key_rotate(ApiContext& ctx, DaemonKeys& keys, const Caller& c, v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "rotate the daemon key", {"operator"}); !r) return r;
  uint64_t seq = 0;
  auto st = keys.rotate(ctx.store, c, &seq);
  if (!st) {
    auto e = entry_for(c, std::string(audit::kRotateAction));
    e.set_decision(v1::DECISION_DENY);
    e.set_detail(st.error().message());
    // The refusal is recorded like every other; if even that fails, the caller hears both.
    if (auto a = ctx.audit(std::move(e)); !a) {
      return tl::unexpected(from_error(Error(
          st.error().code(),
          st.error().message() + "; and its audit entry was not written: " + a.error().message())));
    }
    return tl::unexpected(from_error(st.error()));
  }
  auto status = keys.status(ctx.store);
  if (!status) return tl::unexpected(from_error(status.error()));
  status->set_audit_seq(seq);
  *resp.mutable_daemon_key() = std::move(*status);
  return {};
}

Reply daemon_key_status(ApiContext& ctx, DaemonKeys& keys, v1::ApiResponse& resp) {
  auto status = keys.status(ctx.store);
  if (!status) return tl::unexpected(from_error(status.error()));
  *resp.mutable_daemon_key() = std::move(*status);
  return {};
}

}  // namespace gongshu::daemon
