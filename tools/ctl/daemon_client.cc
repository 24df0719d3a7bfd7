#include "tools/ctl/daemon_client.h"

#include <toml++/toml.h>

#include <cstdlib>
#include <iostream>

#include "core/util/fd.h"
#include "core/util/i18n.h"
#include "core/util/refusal_text.h"
#include "core/wire/codec.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {
namespace {

std::string env_or(const std::string& value, const char* name) {
  if (!value.empty()) return value;
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

void add_connect_options(CLI::App* cmd, ConnectOptions* o) {
  auto* g = cmd->add_option_group(tr("connection"),
                                  tr("How to reach gongshud (env GONGSHU_* as fallback)"));
  g->add_option("--daemon-info", o->daemon_info,
                tr("daemon.info file written by gongshud (api + key)"));
  g->add_option("--api", o->api, tr("api endpoint, e.g. tcp://127.0.0.1:7401"));
  g->add_option("--daemon-key", o->daemon_key, tr("the daemon's public key (64 hex)"));
  g->add_option("--key", o->key, tr("your key file (operator, officer ...)"));
  g->add_option("--timeout", o->timeout_s, tr("seconds to wait for the daemon"))
      ->check(CLI::Range(1, 3600));
}

Result<std::unique_ptr<DaemonClient>> DaemonClient::connect(const ConnectOptions& in) {
  std::string info = env_or(in.daemon_info, "GONGSHU_DAEMON_INFO");
  std::string api = env_or(in.api, "GONGSHU_API");
  std::string daemon_key = env_or(in.daemon_key, "GONGSHU_DAEMON_KEY");
  std::string key_path = env_or(in.key, "GONGSHU_KEY");
  if (!info.empty()) {
    GONGSHU_TRY(Bytes text, read_file(info, 64 * 1024));
    try {
      auto t = toml::parse(as_chars(text), info);
      if (api.empty()) api = t["api"].value_or(std::string());
      if (daemon_key.empty()) daemon_key = t["daemon_public_key"].value_or(std::string());
    } catch (const toml::parse_error& e) {
      return fail(ErrorCode::kInvalidArgument, info + ": " + std::string(e.description()));
    }
  }
  if (api.empty())
    return fail(ErrorCode::kInvalidArgument, tr("no api endpoint: give --daemon-info or --api"));
  if (daemon_key.empty())
    return fail(ErrorCode::kInvalidArgument,
                tr("no daemon key: give --daemon-info or --daemon-key"));
  if (key_path.empty())
    return fail(ErrorCode::kInvalidArgument, tr("no key file: give --key (or GONGSHU_KEY)"));
  GONGSHU_TRY(crypto::PublicKey dk,
              with_context(crypto::PublicKey::from_hex(daemon_key), "--daemon-key"));
  GONGSHU_TRY(crypto::KeyFile kf, crypto::load_key_file(key_path));
  std::unique_ptr<DaemonClient> c(new DaemonClient());
  c->key_ = std::make_unique<crypto::KeyFile>(std::move(kf));
  c->key_id_ = c->key_->key.public_key().key_id();
  c->timeout_ = std::chrono::seconds(in.timeout_s);
  GONGSHU_TRY(wire::Context ctx, wire::Context::create(1));
  c->context_ = std::make_unique<wire::Context>(std::move(ctx));
  GONGSHU_TRY(wire::ClientChannel ch, wire::ClientChannel::create(*c->context_, c->key_->key, dk));
  c->channel_ = std::make_unique<wire::ClientChannel>(std::move(ch));
  GONGSHU_RETURN_IF_ERROR(c->channel_->connect(api));
  return c;
}

DaemonClient::~DaemonClient() {
  channel_.reset();
  context_.reset();
}

Result<v1::ApiResponse> DaemonClient::call(v1::ApiRequest request) {
  uint64_t id = next_id_++;
  request.set_request_id(id);
  GONGSHU_TRY(Bytes bytes, wire::encode(request));
  GONGSHU_RETURN_IF_ERROR(channel_->send(bytes));
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (std::chrono::steady_clock::now() < deadline) {
    auto got = channel_->receive(std::chrono::milliseconds(200));
    if (!got) {
      if (got.error().code() == ErrorCode::kUnauthenticated) {
        return fail(ErrorCode::kPermissionDenied,
                    tr("the daemon refused our key at the handshake"));
      }
      return tl::unexpected(std::move(got).error());
    }
    if (!*got) {
      if (channel_->handshake_state() == wire::HandshakeState::kFailed) {
        return fail(ErrorCode::kUnauthenticated,
                    tr("handshake failed: is --daemon-key the daemon's key?"));
      }
      continue;
    }
    GONGSHU_TRY(auto resp, wire::decode_as<v1::ApiResponse>(**got, 64 << 20));
    if (resp.request_id() != id) continue;
    if (resp.has_error() && resp.error().code() != v1::API_OK) {
      ErrorCode code = resp.error().code() == v1::API_DENIED        ? ErrorCode::kPermissionDenied
                       : resp.error().code() == v1::API_NOT_FOUND   ? ErrorCode::kNotFound
                       : resp.error().code() == v1::API_CONFLICT    ? ErrorCode::kAlreadyExists
                       : resp.error().code() == v1::API_BAD_REQUEST ? ErrorCode::kInvalidArgument
                                                                    : ErrorCode::kInternal;
      // The daemon's reason is English protocol text; its class, in the reader's language,
      // goes before it (core/util/refusal_text.h). A rate limit's reason stays as it came:
      // call_patiently (access_cmd.cc) reads "rate limited ... retry in N ms" from it.
      if (resp.error().code() == v1::API_RATE_LIMITED) return fail(code, resp.error().message());
      return fail(code, explain_refusal(v1::ApiErrorCode_Name(resp.error().code()),
                                        resp.error().message()));
    }
    return resp;
  }
  return fail(ErrorCode::kUnavailable,
              trf("no answer from the daemon within {} s", timeout_.count() / 1000));
}

int report_error(const Error& e) {
  std::cerr << "gongshuctl: "  // i18n-exempt: the program name
            << shown(e.message()) << "\n";
  switch (e.code()) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kUnavailable:
    case ErrorCode::kIo:
    case ErrorCode::kInternal:
      return 2;
    default:
      return 1;
  }
}

}  // namespace gongshu::ctl
