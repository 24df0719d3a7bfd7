// gongshuctl daemon-key: rotation of the daemon's identity key with overlap (docs/protocol.md,
// "Operations: keys"). `rotate` has the daemon announce its next key (a statement signed by the
// current and the next key, recorded in the audit log); the next key takes over at the next
// start of gongshud. `show` prints the keys; `statement --out FILE` saves the latest statement
// for agents that were offline during the overlap (`gongshu-agent trust-daemon-key FILE`).

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/audit/key_rotation.h"
#include "core/util/fd.h"
#include "core/util/i18n.h"
#include "core/util/json.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/daemon_client.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {
namespace {

using nlohmann::json;

std::string key_id_of(const std::string& hex) {
  auto k = crypto::PublicKey::from_hex(hex);
  return k ? k->key_id() : std::string();
}

json status_json(const v1::DaemonKeyStatus& s) {
  json j = {{"current_public_key", s.current_public_key()},
            {"current_key_id", key_id_of(s.current_public_key())},
            {"next_public_key", s.next_public_key()},
            {"next_key_id", key_id_of(s.next_public_key())}};
  if (s.audit_seq() != 0) j["audit_seq"] = s.audit_seq();
  if (auto st = audit::parse_rotation_text(s.statement())) {
    j["latest_rotation"] = {{"old_key_id", st->old_key.key_id()},
                            {"new_key_id", st->new_key.key_id()},
                            {"time", time_text(st->time_ms)}};
  } else {
    j["latest_rotation"] = nullptr;
  }
  return j;
}

void print_status(const v1::DaemonKeyStatus& s) {
  // TRANSLATORS: the labels line up in a column (a Chinese character is two columns wide).
  std::cout << trf("current key: {} ({})", key_id_of(s.current_public_key()),
                   shown(s.current_public_key()))
            << "\n";
  if (!s.next_public_key().empty()) {
    std::cout << trf("next key:    {} ({}), in force from the next start of gongshud",
                     key_id_of(s.next_public_key()), shown(s.next_public_key()))
              << "\n";
  } else {
    std::cout << tr("next key:    none (no rotation pending)\n");
  }
  if (auto st = audit::parse_rotation_text(s.statement())) {
    std::cout << trf("last rotation: {} -> {} announced {}", st->old_key.key_id(),
                     st->new_key.key_id(), local_time_text(st->time_ms))
              << "\n";
  }
}

Result<v1::DaemonKeyStatus> fetch_status(DaemonClient& c) {
  v1::ApiRequest req;
  req.mutable_daemon_key_status();
  GONGSHU_TRY(v1::ApiResponse r, c.call(req));
  return r.daemon_key();
}

}  // namespace

void add_daemon_key_commands(CLI::App& app, int* exit_code) {
  auto* group = app.add_subcommand(
      "daemon-key",
      tr("Rotate the daemon's identity key with overlap: the current key announces the next one,\n"
         "checkpoints carry both signatures until gongshud restarts with the next key, and agents\n"
         "learn the next key from the signed statement."));
  group->require_subcommand(1);

  struct Opts {
    bool json = false;
    std::string out;
  };
  auto rot = std::make_shared<Opts>();
  auto* rotate = group->add_subcommand(
      "rotate",
      tr("Generate the daemon's next key (operators). It is written beside daemon.key as\n"
         "daemon.key.next and announced by a statement signed by both keys, recorded in the audit\n"
         "log (action key_rotate). Restart gongshud to put it in force; until then checkpoints "
         "are\n"
         "signed by both keys and running agents fetch the statement with their catalog refresh."));
  rotate->add_flag("--json", rot->json, tr("JSON output"));
  run_connected(rotate, std::make_shared<ConnectOptions>(), exit_code, [rot](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_daemon_key_rotate();
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    if (rot->json) {
      std::cout << json_dump_terminal_safe(status_json(r->daemon_key())) << "\n";
    } else {
      print_status(r->daemon_key());
      std::cout << trf("recorded as audit entry {}; restart gongshud (systemctl restart "
                       "gongshud) to put the next key in force",
                       r->daemon_key().audit_seq())
                << "\n";
    }
    return 0;
  });

  auto sh = std::make_shared<Opts>();
  auto* show = group->add_subcommand("show", tr("The daemon's current and next key"));
  show->add_flag("--json", sh->json, tr("JSON output"));
  run_connected(show, std::make_shared<ConnectOptions>(), exit_code, [sh](DaemonClient& c) {
    auto s = fetch_status(c);
    if (!s) return report_error(s.error());
    if (sh->json) {
      std::cout << json_dump_terminal_safe(status_json(*s)) << "\n";
    } else {
      print_status(*s);
    }
    return 0;
  });

  auto so = std::make_shared<Opts>();
  auto* statement = group->add_subcommand(
      "statement",
      tr("Save the latest rotation statement, for agents that were offline while it was "
         "announced:\n"
         "`gongshu-agent trust-daemon-key FILE` checks it against the key the agent trusts."));
  statement
      ->add_option("--out", so->out, tr("Where to write the statement (\"-\": standard output)"))
      ->required();
  run_connected(statement, std::make_shared<ConnectOptions>(), exit_code, [so](DaemonClient& c) {
    auto s = fetch_status(c);
    if (!s) return report_error(s.error());
    if (s->statement().empty()) {
      std::cerr << tr("gongshuctl: the daemon's key has never been rotated: no statement\n");
      return 1;
    }
    // Check it before handing it on: a statement that does not verify helps nobody.
    auto st = audit::parse_rotation_text(s->statement());
    if (!st) return report_error(st.error());
    if (so->out == "-") {
      std::cout << printable_lines(s->statement());
      return 0;
    }
    if (auto w = write_file_atomic(so->out, as_bytes(s->statement()), 0644); !w)
      return report_error(w.error());
    std::cout << trf("wrote the rotation statement {} -> {} to {}", st->old_key.key_id(),
                     st->new_key.key_id(), so->out)
              << "\n";
    return 0;
  });
}

}  // namespace gongshu::ctl
