#include "agent/api_client.h"

#include <unistd.h>

#include <sys/stat.h>
#include <algorithm>
#include <cerrno>

#include "agent/catalog_cache.h"
#include "agent/daemon_key.h"
#include "agent/reenrollment.h"
#include "core/crypto/key_file.h"
#include "core/util/i18n.h"
#include "core/util/refusal_text.h"
#include "core/wire/client_channel.h"
#include "core/wire/codec.h"
#include "core/wire/enroll_token.h"

namespace gongshu::agent {
namespace {

constexpr size_t kMaxApiResponse = 16 << 20;

std::string local_hostname(const AgentConfig& config) {
  if (!config.hostname.empty()) return config.hostname;
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

Status api_refusal(const v1::ApiResponse& r, std::string_view what) {
  if (!r.has_error() || r.error().code() == v1::API_OK) return {};
  // Any answer of the daemon's is a refusal the user must see (exit 1), never "could not run".
  ErrorCode code = ErrorCode::kInvalidArgument;
  switch (r.error().code()) {
    case v1::API_DENIED:
      code = ErrorCode::kPermissionDenied;
      break;
    case v1::API_NOT_FOUND:
      code = ErrorCode::kNotFound;
      break;
    case v1::API_CONFLICT:
      code = ErrorCode::kAlreadyExists;
      break;
    default:
      break;
  }
  // The reason is the daemon's English protocol text; its class goes before it in the
  // reader's language (core/util/refusal_text.h). `what` names the request.
  const std::string name = v1::ApiErrorCode_Name(r.error().code());
  const std::string why = explain_refusal(name, r.error().message());
  return fail(code, r.error().rule().empty()
                        ? trf("{0}: the daemon answered {1}: {2}", what, name, why)
                        : trf("{0}: the daemon answered {1}: {2} (rule {3})", what, name, why,
                              r.error().rule()));
}

Result<DaemonTarget> daemon_target(const AgentConfig& config, const Spool& spool,
                                   const store::Txn& txn) {
  DaemonTarget t;
  auto e = spool.enrollment(txn);
  std::string key_hex = config.daemon_public_key;
  if (e) {
    t.api = e->api_endpoint();
    t.ingest = e->ingest_endpoint();
    t.agency = e->agency();
    if (key_hex.empty()) key_hex = e->daemon_public_key();
  }
  if (!config.daemon_api.empty()) t.api = config.daemon_api;
  if (!config.daemon_ingest.empty()) t.ingest = config.daemon_ingest;
  t.ingest_nodes = config.daemon_cluster_ingest;
  if (!t.ingest_nodes.empty() && config.daemon_ingest.empty() &&
      std::find(t.ingest_nodes.begin(), t.ingest_nodes.end(), t.ingest) == t.ingest_nodes.end())
    t.ingest = t.ingest_nodes.front();
  if (!e) {
    return fail(
        ErrorCode::kNotFound,
        trf("this agent is not enrolled: run `gongshu-agent enroll TOKEN --config {}` first",
            config.path));
  }
  GONGSHU_TRY(t.key, with_context(crypto::PublicKey::from_hex(key_hex), tr("daemon public key")));
  return t;
}

namespace {
Result<v1::ApiResponse> api_call_once(wire::Context& context, const crypto::IdentityKey& identity,
                                      const crypto::PublicKey& daemon, const std::string& endpoint,
                                      const v1::ApiRequest& request,
                                      std::chrono::milliseconds timeout,
                                      const std::atomic<bool>* cancel);
}  // namespace

// A cluster node that does not lead answers every request but a few reads "not leader" with
// the leader's api endpoint (daemon/api.cc): the request goes once more, to that leader.
Result<v1::ApiResponse> api_call(wire::Context& context, const crypto::IdentityKey& identity,
                                 const crypto::PublicKey& daemon, const std::string& endpoint,
                                 const v1::ApiRequest& request, std::chrono::milliseconds timeout,
                                 const std::atomic<bool>* cancel) {
  GONGSHU_TRY(v1::ApiResponse resp,
              api_call_once(context, identity, daemon, endpoint, request, timeout, cancel));
  if (resp.has_error() && resp.error().code() == v1::API_UNAVAILABLE &&
      !resp.error().leader_api().empty() && resp.error().leader_api() != endpoint)
    return api_call_once(context, identity, daemon, resp.error().leader_api(), request, timeout,
                         cancel);
  return resp;
}

namespace {
Result<v1::ApiResponse> api_call_once(wire::Context& context, const crypto::IdentityKey& identity,
                                      const crypto::PublicKey& daemon, const std::string& endpoint,
                                      const v1::ApiRequest& request,
                                      std::chrono::milliseconds timeout,
                                      const std::atomic<bool>* cancel) {
  if (endpoint.empty()) return fail(ErrorCode::kInvalidArgument, tr("no api endpoint is known"));
  wire::ClientOptions o;
  o.max_message_size = kMaxApiResponse;
  GONGSHU_TRY(wire::ClientChannel ch, wire::ClientChannel::create(context, identity, daemon, o));
  GONGSHU_RETURN_IF_ERROR(ch.connect(endpoint));
  GONGSHU_TRY(Bytes payload, wire::encode(request));
  GONGSHU_RETURN_IF_ERROR(ch.send(payload));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    if (cancel && cancel->load()) return fail(ErrorCode::kUnavailable, "cancelled");
    auto got = ch.receive(std::min(left, std::chrono::milliseconds(200)));
    if (!got) {
      if (got.error().code() == ErrorCode::kCorrupt) continue;
      if (got.error().code() == ErrorCode::kUnauthenticated) {
        return fail(ErrorCode::kUnauthenticated,
                    trf("daemon at {} refused our key: not enrolled or revoked", endpoint));
      }
      return tl::unexpected(std::move(got).error());
    }
    if (!*got) {
      if (ch.handshake_state() == wire::HandshakeState::kRefused) {
        return fail(ErrorCode::kUnauthenticated,
                    trf("daemon at {} refused our key: not enrolled or revoked", endpoint));
      }
      continue;
    }
    auto resp = wire::decode_as<v1::ApiResponse>(**got, kMaxApiResponse);
    if (!resp) continue;  // not for us / garbage: keep waiting for ours
    if (resp->request_id() != request.request_id()) continue;
    return std::move(*resp);
  }
  wire::HandshakeState st = ch.handshake_state();
  if (st == wire::HandshakeState::kFailed) {
    return fail(ErrorCode::kUnauthenticated,
                trf("the handshake with {} failed: the daemon's key is not the one we expect "
                    "(wrong token or [daemon] public_key?)",
                    endpoint));
  }
  if (st == wire::HandshakeState::kRefused) {
    return fail(ErrorCode::kUnauthenticated,
                trf("daemon at {} refused our key: not enrolled or revoked", endpoint));
  }
  return fail(ErrorCode::kUnavailable,
              trf("the daemon at {} did not answer within {} s ({})", endpoint,
                  timeout.count() / 1000, wire::handshake_state_name(st)));
}
}  // namespace

Result<crypto::IdentityKey> load_agent_key(const std::string& path) {
  GONGSHU_TRY(crypto::KeyFile kf, crypto::load_key_file(path));
  if (kf.kind != crypto::KeyKind::kAgent) {
    return fail(ErrorCode::kInvalidArgument, trf("key file {} holds a {} key, not an agent key",
                                                 path, crypto::key_kind_name(kf.kind)));
  }
  return std::move(kf.key);
}

Result<crypto::IdentityKey> load_or_create_agent_key(const std::string& path, bool* created) {
  *created = false;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) {
    crypto::IdentityKey key = crypto::IdentityKey::generate();
    GONGSHU_RETURN_IF_ERROR(crypto::save_key_file(path, crypto::KeyKind::kAgent, key));
    *created = true;
    return key;
  }
  return load_agent_key(path);
}

Result<EnrollResult> enroll(const AgentConfig& config, std::string_view token, Spool& spool,
                            const Clock& clock, std::chrono::milliseconds timeout) {
  GONGSHU_TRY(wire::EnrollTokenData t, with_context(wire::parse_enroll_token(token), "token"));
  EnrollResult out;
  GONGSHU_TRY(crypto::IdentityKey key, load_or_create_agent_key(config.key_file, &out.key_created));
  std::string key_id = key.public_key().key_id();
  // A new key (the previous one leaked and was revoked): the outbox's batches signed with it are
  // reconciled with the daemon below, not refused here (agent/reenrollment.h).
  std::string previous_key_id;
  {
    GONGSHU_TRY(store::ReadTxn txn, spool.env().begin_read());
    auto old = spool.enrollment(txn);
    if (old && old->agent_key_id() != key_id) previous_key_id = old->agent_key_id();
  }
  GONGSHU_TRY(auto context, wire::Context::create());
  v1::ApiRequest req;
  req.set_request_id(1);
  v1::EnrollRequest* er = req.mutable_enroll();
  er->set_token(std::string(token));
  er->set_agent_public_key(key.public_key().hex());
  er->set_hostname(local_hostname(config));
  GONGSHU_TRY(
      v1::ApiResponse resp,
      with_context(api_call(context, key, t.daemon_key, t.api_endpoint, req, timeout), "enroll"));
  GONGSHU_RETURN_IF_ERROR(api_refusal(resp, "enroll"));
  if (!resp.has_enroll()) {
    return fail(ErrorCode::kCorrupt, tr("enroll: the daemon's answer has no enrollment"));
  }
  const v1::EnrollResponse& e = resp.enroll();
  if (!e.daemon_public_key().empty() && e.daemon_public_key() != t.daemon_key.hex()) {
    return fail(ErrorCode::kCorrupt,
                tr("enroll: the daemon reports a public key other than the token's"));
  }
  if (!e.agent_key_id().empty() && e.agent_key_id() != key_id) {
    return fail(ErrorCode::kCorrupt, trf("enroll: the daemon registered key {}, not ours ({})",
                                         e.agent_key_id(), key_id));
  }
  agentpb::Enrollment& en = out.enrollment;
  en.set_agency(e.agency());
  en.set_agent_key_id(key_id);
  en.set_daemon_public_key(t.daemon_key.hex());
  en.set_api_endpoint(t.api_endpoint);
  en.set_ingest_endpoint(e.ingest_endpoint());
  en.set_enrolled_at_ms(clock.now_ms());
  en.set_hostname(local_hostname(config));
  std::string bytes;
  en.SerializeToString(&bytes);
  GONGSHU_RETURN_IF_ERROR(spool.env().update([&](store::WriteTxn& txn) -> Status {
    // batch_seq continues under the new key, as after a rotation: the receipts stay keyed by it.
    if (!previous_key_id.empty()) {
      GONGSHU_TRY(size_t n, note_reenrollment(spool, txn, previous_key_id, key_id, clock.now_ms()));
      out.previous_key_batches = n;
    }
    return spool.put_meta(txn, kEnrollment, as_bytes(bytes));
  }));
  // The catalog, on a new connection: this one was authorised before we were enrolled.
  auto refreshed = refresh_catalog(context, config, key, spool, clock, timeout);
  if (!refreshed) {
    out.warnings.push_back(
        trf("enrolled, but the catalog could not be fetched yet ({}); `gongshu-agent catalog "
            "refresh` or `run` will retry",
            refreshed.error().message()));
  } else {
    out.datasets = refreshed->datasets;
    for (auto& w : refreshed->warnings) out.warnings.push_back(w);
  }
  if (out.previous_key_batches > 0) {
    out.previous_key_id = previous_key_id;
    DaemonTarget target;
    {
      GONGSHU_TRY(store::ReadTxn txn, spool.env().begin_read());
      GONGSHU_TRY(target, daemon_target(config, spool, txn));
    }
    auto r = reconcile_reenrollment(context, key, spool, target, clock, timeout, nullptr);
    if (!r) {
      out.warnings.push_back(
          trf("{} batches signed by the previous key {} stay in the spool, unsent: {}; "
              "`gongshu-agent run` asks again before it sends anything",
              out.previous_key_batches, previous_key_id, r.error().message()));
    } else if (*r) {
      out.reconciled = true;
      out.previous_stored = (*r)->stored_batches;
      out.previous_resealed = (*r)->resealed_batches;
      if (auto w = foreign_batches_warning(**r); !w.empty()) out.warnings.push_back(std::move(w));
    }
  }
  return out;
}

Result<CatalogRefresh> refresh_catalog(wire::Context& context, const AgentConfig& config,
                                       const crypto::IdentityKey& identity, Spool& spool,
                                       const Clock& clock, std::chrono::milliseconds timeout,
                                       const std::atomic<bool>* cancel) {
  DaemonTarget target;
  {
    GONGSHU_TRY(store::ReadTxn txn, spool.env().begin_read());
    GONGSHU_TRY(target, daemon_target(config, spool, txn));
  }
  v1::ApiRequest req;
  req.set_request_id(2);
  req.mutable_catalog();
  GONGSHU_TRY(v1::ApiResponse resp, with_context(api_call(context, identity, target.key, target.api,
                                                          req, timeout, cancel),
                                                 "catalog"));
  GONGSHU_RETURN_IF_ERROR(api_refusal(resp, "catalog"));
  std::vector<v1::DatasetEntry> datasets(resp.catalog().datasets().begin(),
                                         resp.catalog().datasets().end());
  CatalogRefresh out;
  out.datasets = datasets.size();
  GONGSHU_TRY(out.warnings, store_catalog(spool, datasets, clock.now_ms()));
  // With every refresh, learn of a daemon key rotation (agent/daemon_key.h).
  auto learnt = fetch_daemon_key_statement(context, identity, target, spool, timeout, cancel);
  if (!learnt) {
    out.warnings.push_back(trf("daemon key rotation: {}", learnt.error().message()));
  } else if (*learnt == StatementOutcome::kStored) {
    out.warnings.push_back(tr("the daemon announced its next key: used from its next restart"));
  }
  return out;
}

}  // namespace gongshu::agent
