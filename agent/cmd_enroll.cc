// gongshu-agent enroll TOKEN: creates the agent key here (if there is none) and registers its
// public half with the daemon named in the token; then caches the agency's catalog.

#include <iostream>
#include <memory>

#include "agent/api_client.h"
#include "agent/cmd_common.h"
#include "agent/commands.h"
#include "core/util/json.h"
#include "core/util/printable.h"

namespace gongshu::agent {

void add_enroll_command(CLI::App& app, int* exit_code) {
  struct Options {
    std::string config;
    std::string token;
    bool json = false;
    int timeout_s = 15;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "enroll",
      tr("Enroll this agent with the daemon, using a one-time token from the city data authority\n"
         "(gongshuctl enroll-token create). Creates the agent's Ed25519 key in [agent] key_file\n"
         "(mode 0600) unless it exists; only the public key is sent, the secret never leaves this\n"
         "machine. Then fetches the catalog of the agency's datasets. Exit 1 when the daemon\n"
         "refuses (expired or used token, ...), 2 when it cannot be reached or run."));
  add_config_option(cmd, &o->config);
  cmd->add_option("TOKEN", o->token, tr("The enrollment token (gsenroll1....)"))->required();
  cmd->add_option("--timeout", o->timeout_s, tr("Seconds to wait for the daemon"))
      ->capture_default_str();
  cmd->add_flag("--json", o->json, tr("Print the result as JSON"));
  cmd->callback([o, exit_code] {
    auto loaded = load_config_and_spool(o->config);
    if (!loaded) return void(*exit_code = report("enroll", loaded.error()));
    auto r = enroll(loaded->config, o->token, *loaded->spool, SystemClock::instance(),
                    std::chrono::seconds(o->timeout_s));
    if (!r) {
      ErrorCode c = r.error().code();
      bool refused = c == ErrorCode::kPermissionDenied || c == ErrorCode::kInvalidArgument ||
                     c == ErrorCode::kAlreadyExists || c == ErrorCode::kNotFound ||
                     c == ErrorCode::kUnauthenticated;
      return void(*exit_code = report("enroll", r.error(), refused ? 1 : 2));
    }
    const auto& e = r->enrollment;
    if (o->json) {
      JsonWriter w;
      w.begin_object()
          .field("agency", e.agency())
          .field("agent_key_id", e.agent_key_id())
          .field("key_created", r->key_created)
          .field("key_file", loaded->config.key_file)
          .field("daemon_key_id", crypto::PublicKey::from_hex(e.daemon_public_key())
                                      .map([](const crypto::PublicKey& k) { return k.key_id(); })
                                      .value_or(""))
          .field("api", e.api_endpoint())
          .field("ingest", e.ingest_endpoint())
          .field("datasets", uint64_t(r->datasets));
      if (!r->previous_key_id.empty()) {
        w.key("previous_key")
            .begin_object()
            .field("key_id", r->previous_key_id)
            .field("batches", r->previous_key_batches)
            .field("reconciled", r->reconciled)
            .field("stored", r->previous_stored)
            .field("resealed", r->previous_resealed)
            .end_object();
      }
      w.key("warnings").begin_array();
      for (const auto& x : r->warnings) w.value(x);
      w.end_array().end_object();
      std::cout << w.str() << "\n";
    } else {
      std::cout << trf("enrolled agent {} for agency {}", printable(e.agent_key_id()),
                       printable(e.agency()))
                << "\n"
                << "  "
                << (r->key_created ? trf("key file: {} (created)", loaded->config.key_file)
                                   : trf("key file: {} (existing)", loaded->config.key_file))
                << "\n"
                << "  "
                << trf("daemon:   api {}, ingest {}", printable(e.api_endpoint()),
                       printable(e.ingest_endpoint()))
                << "\n"
                << "  " << trf("catalog:  {} datasets cached", r->datasets) << "\n";
      if (!r->previous_key_id.empty() && r->reconciled) {
        std::cout << "  "
                  << trf("previous key {}: of its {} unacknowledged batches the daemon had "
                         "stored {} (acknowledged now, with their receipts); {} are sealed "
                         "again under the new key",
                         r->previous_key_id, r->previous_key_batches, r->previous_stored,
                         r->previous_resealed)
                  << "\n";
      }
      for (const auto& x : r->warnings) {
        std::cerr << "gongshu-agent enroll: "  // i18n-exempt: program and command names
                  << trf("warning: {}", printable(x)) << "\n";
      }
    }
    *exit_code = 0;
  });
}

}  // namespace gongshu::agent
