#include "agent/daemon_key.h"

#include "core/util/i18n.h"

namespace gongshu::agent {
namespace {

std::optional<audit::RotationStatement> kept_statement(const Spool& spool, const store::Txn& txn) {
  auto v = spool.get_meta(txn, kDaemonKeyNext);
  if (!v) return std::nullopt;
  auto st = audit::parse_rotation_text(as_chars(*v));
  if (!st) return std::nullopt;  // verified when kept; unreadable now means nothing to try
  return std::move(*st);
}

}  // namespace

Result<StatementOutcome> accept_daemon_key_statement(const Spool& spool, store::WriteTxn& txn,
                                                     const crypto::PublicKey& trusted,
                                                     std::string_view text,
                                                     audit::RotationStatement* statement) {
  GONGSHU_TRY(audit::RotationStatement st, audit::parse_rotation_text(text));
  if (statement) *statement = st;
  if (st.new_key == trusted) return StatementOutcome::kAlreadyTrusted;
  if (st.old_key != trusted) {
    return fail(ErrorCode::kUnauthenticated,
                trf("the rotation statement hands over from daemon key {}, but this agent trusts "
                    "{}: refused",
                    st.old_key.key_id(), trusted.key_id()));
  }
  if (auto kept = kept_statement(spool, txn); kept && kept->new_key == st.new_key)
    return StatementOutcome::kAlreadyKnown;
  GONGSHU_RETURN_IF_ERROR(spool.put_meta(txn, kDaemonKeyNext, as_bytes(text)));
  return StatementOutcome::kStored;
}

std::optional<crypto::PublicKey> next_daemon_key(const Spool& spool, const store::Txn& txn,
                                                 const crypto::PublicKey& current) {
  auto st = kept_statement(spool, txn);
  if (!st || current != st->old_key) return std::nullopt;
  return st->new_key;
}

Result<bool> adopt_daemon_key_if_next(const Spool& spool, store::WriteTxn& txn,
                                      const crypto::PublicKey& key) {
  auto st = kept_statement(spool, txn);
  if (!st || st->new_key != key) return false;
  auto e = spool.enrollment(txn);
  if (!e) return fail(ErrorCode::kNotFound, tr("adopt the daemon's new key: not enrolled"));
  e->set_daemon_public_key(key.hex());
  std::string bytes;
  e->SerializeToString(&bytes);
  GONGSHU_RETURN_IF_ERROR(spool.put_meta(txn, kEnrollment, as_bytes(bytes)));
  GONGSHU_RETURN_IF_ERROR(spool.del_meta(txn, kDaemonKeyNext));
  return true;
}

Result<std::optional<StatementOutcome>> fetch_daemon_key_statement(
    wire::Context& context, const crypto::IdentityKey& identity, const DaemonTarget& target,
    Spool& spool, std::chrono::milliseconds timeout, const std::atomic<bool>* cancel) {
  v1::ApiRequest req;
  req.set_request_id(3);
  req.mutable_daemon_key_status();
  GONGSHU_TRY(v1::ApiResponse resp, with_context(api_call(context, identity, target.key, target.api,
                                                          req, timeout, cancel),
                                                 tr("daemon key status")));
  GONGSHU_RETURN_IF_ERROR(api_refusal(resp, tr("daemon key status")));
  const std::string& text = resp.daemon_key().statement();
  if (text.empty()) return std::optional<StatementOutcome>();
  // Only a statement handing over from the key we trust is worth keeping; an older one (whose
  // new key we already trust) is not news.
  GONGSHU_TRY(audit::RotationStatement st,
              with_context(audit::parse_rotation_text(text), tr("daemon key status")));
  if (st.old_key != target.key) return std::optional<StatementOutcome>();
  StatementOutcome outcome{};
  GONGSHU_RETURN_IF_ERROR(spool.env().update([&](store::WriteTxn& txn) -> Status {
    GONGSHU_TRY(outcome, accept_daemon_key_statement(spool, txn, target.key, text));
    return {};
  }));
  return std::optional<StatementOutcome>(outcome);
}

}  // namespace gongshu::agent
