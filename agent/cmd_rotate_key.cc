// gongshu-agent rotate-key: asks the running service to replace the agent key with a new one
// (agent/key_rotation.h) and waits for the outcome. The request travels through the spool's meta
// entry "key_rotation", so it needs no socket of its own and only a user who may write the spool
// (the service user) can ask.

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <iostream>
#include <memory>
#include <random>
#include <thread>

#include "agent/api_client.h"
#include "agent/cmd_common.h"
#include "agent/commands.h"
#include "agent/key_rotation.h"
#include "core/util/fd.h"
#include "core/util/json.h"
#include "core/util/printable.h"
#include "core/util/refusal_text.h"

namespace gongshu::agent {
namespace {

// True when a `gongshu-agent run` holds the state directory's run.lock.
Result<bool> service_running(const AgentConfig& config) {
  GONGSHU_TRY(Fd lock, Fd::open(config.state_dir + "/run.lock", O_RDWR | O_CREAT, 0600));
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) == 0) return false;  // released with the Fd
  if (errno == EWOULDBLOCK) return true;
  return fail_errno("run.lock", errno);
}

bool settled(const agentpb::KeyRotation& r) { return r.state() == "done" || r.state() == "failed"; }

}  // namespace

void add_rotate_key_command(CLI::App& app, int* exit_code) {
  struct Options {
    std::string config;
    bool json = false;
    int timeout_s = 120;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "rotate-key",
      tr("Replace this agent's key with a new one, losing no spooled record. The running "
         "service\n"
         "(`gongshu-agent run`) does it while intake goes on: it stops sealing batches, waits "
         "until\n"
         "every batch signed with the old key is acknowledged, writes the new key to\n"
         "KEY_FILE.next, asks the daemon (authenticated with the old key, proving possession of\n"
         "the new one) to register the new key for the agency and retire the old, then keeps the\n"
         "old key as KEY_FILE.<old key id>.old, installs the new one as KEY_FILE and seals the\n"
         "rest of the spool with it. The secret never leaves this machine; the daemon audits the\n"
         "rotation, and the old key is refused from its next connection. When the service is not\n"
         "running the request is kept and carried out when it starts. A rotation interrupted by "
         "a\n"
         "crash is finished at the next start.\n"
         "Exit 0: rotated (or queued for a stopped service); 1: the daemon refused, or it did "
         "not\n"
         "finish within --timeout (it goes on in the service); 2: could not run."));
  add_config_option(cmd, &o->config);
  cmd->add_option("--timeout", o->timeout_s, tr("Seconds to wait for the service to finish"))
      ->capture_default_str()
      ->check(CLI::Range(1, 86'400));
  cmd->add_flag("--json", o->json, tr("Print the outcome as JSON"));
  cmd->callback([o, exit_code] {
    auto loaded = load_config_and_spool(o->config);
    if (!loaded) return void(*exit_code = report("rotate-key", loaded.error()));
    Spool& spool = *loaded->spool;
    const AgentConfig& config = loaded->config;
    auto key = load_agent_key(config.key_file);
    if (!key) return void(*exit_code = report("rotate-key", key.error()));
    const Clock& clock = SystemClock::instance();
    uint64_t request_id = 0;
    auto posted = spool.env().update([&](store::WriteTxn& txn) -> Status {
      if (!spool.enrollment(txn)) {
        return fail(ErrorCode::kNotFound,
                    tr("this agent is not enrolled: run `gongshu-agent enroll`"));
      }
      auto cur = read_key_rotation(spool, txn);
      if (cur && !settled(*cur)) {
        request_id = cur->request_id();  // one is under way: wait for that one
        return {};
      }
      agentpb::KeyRotation r;
      request_id = std::random_device{}() | (uint64_t(clock.now_ms()) << 32);
      r.set_request_id(request_id);
      r.set_state("requested");
      r.set_old_key_id(key->public_key().key_id());
      r.set_message("waiting for the service");  // i18n-exempt: stored, the JSON message
      r.set_requested_ms(clock.now_ms());
      r.set_updated_ms(clock.now_ms());
      return write_key_rotation(spool, txn, std::move(r));
    });
    if (!posted) return void(*exit_code = report("rotate-key", posted.error()));

    auto print = [&](const agentpb::KeyRotation& r, const std::string& state) {
      if (o->json) {
        JsonWriter w;
        w.begin_object()
            .field("state", state)
            .field("old_key_id", r.old_key_id())
            .field("new_key_id", r.new_key_id())
            .field("message", r.message())
            .field("key_file", config.key_file)
            .field("old_key_file",
                   r.old_key_id().empty() ? std::string() : old_key_path(config, r.old_key_id()))
            .end_object();
        std::cout << w.str() << "\n";
      } else if (state == "done") {
        std::cout << trf("rotated agent key {} to {}", r.old_key_id(), r.new_key_id()) << "\n"
                  << "  " << trf("key file:     {}", config.key_file) << "\n"
                  << "  " << trf("old key file: {}", old_key_path(config, r.old_key_id())) << "\n";
      } else if (state == "failed") {
        // The daemon's refusal: its class in the reader's language, its reason as sent.
        const std::string why =
            r.refusal_code().empty()
                ? r.message()
                : trf("{0}: the daemon answered {1}: {2}", tr("key rotation"), r.refusal_code(),
                      explain_refusal(r.refusal_code(), r.refusal_reason()));
        std::cerr << "gongshu-agent rotate-key: "  // i18n-exempt: program and command names
                  << trf("refused: {}", printable(why)) << "\n";
      } else if (state == "queued") {
        std::cout << tr("key rotation queued: the agent service is not running; it rotates the "
                        "key when it starts (systemctl start gongshu-agent)")
                  << "\n";
      } else if (state == "pending") {
        std::cout << trf("key rotation pending: not finished within {} s (state {}: {}); the "
                         "service goes on with it — see its log",
                         o->timeout_s, printable(r.state()), printable(r.message()))
                  << "\n";
      } else {
        std::cout << trf("key rotation {}: {}", printable(state), printable(r.message())) << "\n";
      }
    };

    auto running = service_running(config);
    if (!running) return void(*exit_code = report("rotate-key", running.error()));
    agentpb::KeyRotation last;
    if (!*running) {
      last.set_old_key_id(key->public_key().key_id());
      last.set_message(  // i18n-exempt: the JSON message; people read print()'s sentence
          "the agent service is not running; it rotates the key when it starts "  // i18n-exempt
          "(systemctl start gongshu-agent)");
      print(last, "queued");
      return void(*exit_code = 0);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o->timeout_s);
    while (true) {
      auto txn = spool.env().begin_read();
      if (!txn) return void(*exit_code = report("rotate-key", txn.error()));
      auto r = read_key_rotation(spool, *txn);
      if (r && r->request_id() == request_id) {
        last = *r;
        if (settled(last)) break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        if (!o->json) {
          print(last, "pending");
          return void(*exit_code = 1);
        }
        last.set_message(  // i18n-exempt: the JSON message; people read print()'s sentence
            "not finished within " + std::to_string(o->timeout_s) + " s (state " +  // i18n-exempt
            last.state() + ": " + last.message() +
            "); the service goes on with it — see its log");  // i18n-exempt
        print(last, "pending");
        return void(*exit_code = 1);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    print(last, last.state());
    *exit_code = last.state() == "done" ? 0 : 1;
  });
}

}  // namespace gongshu::agent
