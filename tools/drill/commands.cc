#include "tools/drill/commands.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>

#include "core/crypto/key_file.h"
#include "core/util/i18n.h"
#include "core/util/version.h"
#include "tools/drill/plan.h"
#include "tools/drill/process.h"
#include "tools/drill/report.h"
#include "tools/drill/runner.h"
#include "tools/drill/target.h"

namespace gongshu::drill {
namespace fs = std::filesystem;
namespace {

struct Paths {
  std::string bin;
  std::string policies;
};

std::string self_dir() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

// Binaries next to gongshu-drill; the shipped policies in /etc/gongshu/policies for an installed
// gongshu-drill, the source tree's for one in a build tree.
void add_path_options(CLI::App* cmd, Paths* p) {
  cmd->add_option("--bin", p->bin,
                  tr("Directory of gongshud, gongshu-agent, gongshuctl, gongshu-audit "
                     "(default: gongshu-drill's own)"));
  cmd->add_option("--policies", p->policies,
                  tr("Directory of agencies.toml, catalog/, policy/ and drills/ (default: "
                     "/etc/gongshu/policies when installed)"));
}

void resolve(Paths* p) {
  std::string self = self_dir();
  if (p->bin.empty()) p->bin = self;
  if (p->policies.empty()) {
    p->policies = self.rfind("/usr/", 0) == 0 || !fs::exists(GONGSHU_DRILL_SOURCE_POLICIES)
                      ? "/etc/gongshu/policies"
                      : GONGSHU_DRILL_SOURCE_POLICIES;
  }
}

Result<std::vector<Plan>> builtin(const Paths& p) { return load_plans(p.policies + "/drills"); }

// A scenario by name among the built-in plans.
Result<Plan> find_plan(const Paths& p, const std::string& name) {
  GONGSHU_TRY(auto plans, builtin(p));
  for (auto& plan : plans) {
    if (plan.name == name) return std::move(plan);
  }
  return fail(ErrorCode::kNotFound,
              trf("no scenario `{}` in {}/drills (gongshu-drill list)", name, p.policies));
}

// "drill-20261207T071500-9f3a61c2": when, and 32 random bits, so two drills never share an id.
std::string new_report_id(int64_t ms) {
  std::string t = iso_time(ms);  // 2026-12-07T07:15:00.123Z
  std::string compact;
  for (char ch : t.substr(0, 19)) {
    if (ch != '-' && ch != ':') compact += ch;
  }
  std::random_device rd;
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08x", unsigned(rd()));
  return "drill-" + compact + "-" + hex;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

extern "C" void on_stop_signal(int) { request_stop(); }

// Ctrl-C or a SIGTERM ends the drill between steps, so every sandbox is taken down and removed.
void stop_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace

void add_list_command(CLI::App& app, int* exit_code) {
  auto p = std::make_shared<Paths>();
  CLI::App* cmd = app.add_subcommand("list", tr("List the built-in scenarios (policies/drills/)"));
  add_path_options(cmd, p.get());
  cmd->callback([p, exit_code] {
    resolve(p.get());
    auto plans = builtin(*p);
    if (!plans) {
      std::cerr << "gongshu-drill list: "  // i18n-exempt: program and command names
                << plans.error().message() << "\n";
      return void(*exit_code = kExitError);
    }
    for (const auto& plan : *plans) {
      std::cout << plan.name << "\n    " << plan.summary_zh << "\n    " << plan.summary_en << "\n";
    }
    *exit_code = kExitOk;
  });
}

void add_show_command(CLI::App& app, int* exit_code) {
  struct Opts {
    Paths paths;
    std::string scenario, plan;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("show", tr("Show a scenario's steps and expectations"));
  cmd->add_option("SCENARIO", o->scenario, tr("A built-in scenario"));
  cmd->add_option("--plan", o->plan, tr("A plan file instead"));
  add_path_options(cmd, &o->paths);
  cmd->callback([o, exit_code] {
    resolve(&o->paths);
    auto plan = !o->plan.empty() ? load_plan(o->plan)
                : o->scenario.empty()
                    ? Result<Plan>(fail(ErrorCode::kInvalidArgument,
                                        tr("name a SCENARIO or give --plan FILE")))
                    : find_plan(o->paths, o->scenario);
    if (!plan) {
      std::cerr << "gongshu-drill show: "  // i18n-exempt: program and command names
                << plan.error().message() << "\n";
      return void(*exit_code = kExitError);
    }
    std::cout << "场景 scenario " << plan->name  // i18n-exempt: Chinese beside English already
              << " (" << plan->file << ")\n  " << plan->summary_zh << "\n  " << plan->summary_en
              << "\n\n";
    int i = 0;
    for (const auto& s : plan->steps) {
      // TRANSLATORS: {0} is the step in English, {1} the same in Chinese: show {1}.
      const Bilingual title = describe(s);
      std::cout << "  " << ++i << ". " << trf("{0}   [line {2}]", title.en, title.zh, s.line)
                << "\n";
    }
    *exit_code = kExitOk;
  });
}

void add_run_command(CLI::App& app, int* exit_code) {
  struct Opts {
    Paths paths;
    std::vector<std::string> scenarios, plans;
    bool all = false, json = false, keep = false, sandbox = true;
    std::string report, key;
    std::string from_backup, master_key, backup_daemon_key;
    std::string target = "sandbox", config = kDefaultDaemonConfig;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      tr("Run scenarios against a throwaway sandbox platform built from the real binaries, step "
         "by\n"
         "step, timed; prove every acknowledged batch stored exactly once (inclusion proofs "
         "against\n"
         "a checkpoint taken after recovery; an ack lost in the fault counts as unknown) and the\n"
         "audit log intact; mark the drill in the platform's audit log; write a signed report\n"
         "(JSON, text, HTML). Exit 0 all held, 1 a drill failed, 2 could not run."));
  cmd->add_option("SCENARIO", o->scenarios, tr("Built-in scenarios to run, in order"));
  cmd->add_flag("--all", o->all, tr("Run every built-in scenario"));
  cmd->add_option("--plan", o->plans, tr("A plan file of your own (repeatable)"));
  cmd->add_flag("--sandbox", o->sandbox, tr("Run against a throwaway platform (the default)"));
  cmd->add_option("--target", o->target,
                  tr("sandbox (default), or systemd: this host's real units (a staging host "
                     "whose\n"
                     "gongshud configuration says [drill] allowed = true; refused otherwise)"))
      ->check(CLI::IsMember({"sandbox", "systemd"}));
  cmd->add_option("--config", o->config,
                  trf("With --target systemd: the host's gongshud configuration (default {})",
                      kDefaultDaemonConfig));
  cmd->add_option("--report", o->report,
                  tr("Write the signed report (JSON) to FILE, its text form to FILE.txt and a\n"
                     "self-contained HTML page to FILE.html"));
  cmd->add_option("--key", o->key, tr("The drill operator's key file (gongshuctl keygen)"));
  cmd->add_option("--from-backup", o->from_backup,
                  tr("Restore this backup (gongshuctl backup create) into each sandbox first, "
                     "instead of a new\nplatform, and measure how long the restore takes: proves "
                     "the backups restore.\nNeeds --master-key, --daemon-key and --key (an "
                     "operator registered on that platform)"));
  cmd->add_option("--master-key", o->master_key,
                  tr("With --from-backup: the storage master key file of the backed-up platform"));
  cmd->add_option("--daemon-key", o->backup_daemon_key,
                  tr("With --from-backup: a copy of the backed-up daemon's key file (daemon.key; "
                     "keys are\nnot in a backup); a keyring/ directory beside it is copied too"));
  cmd->add_flag("--json", o->json, tr("Print the report as JSON instead of text"));
  cmd->add_flag("--keep", o->keep, tr("Keep the sandbox directory for a post-mortem"));
  add_path_options(cmd, &o->paths);
  cmd->callback([o, exit_code] {
    resolve(&o->paths);
    auto error = [&](const std::string& m) {
      std::cerr << "gongshu-drill run: "  // i18n-exempt: program and command names
                << m << "\n";
      *exit_code = kExitError;
    };
    if (o->target == "systemd") {
      // A production host can never be hit by mistake: its configuration must say so.
      if (auto allowed = systemd_drills_allowed(o->config); !allowed) {
        return error("--target systemd: " +  // i18n-exempt: the option's name
                     allowed.error().message());
      }
      if (o->key.empty()) {
        return error(
            tr("--target systemd needs --key FILE: a key registered as an operator of "
               "this host's gongshud"));
      }
    }
    std::optional<crypto::KeyFile> key;
    if (!o->report.empty() && o->key.empty()) return error(tr("--report needs --key FILE to sign"));
    if (!o->key.empty()) {
      auto k = crypto::load_key_file(o->key);
      if (!k) return error(k.error().message());
      key.emplace(std::move(*k));
    }
    if (!o->from_backup.empty() &&
        (o->master_key.empty() || o->backup_daemon_key.empty() || o->key.empty())) {
      return error(
          tr("--from-backup needs --master-key FILE, --daemon-key FILE (the backed-up daemon's "
             "key) and --key FILE (an operator of that platform)"));
    }
    if (o->from_backup.empty() && (!o->master_key.empty() || !o->backup_daemon_key.empty())) {
      return error(tr("--master-key and --daemon-key go with --from-backup FILE"));
    }
    for (std::string* f : {&o->from_backup, &o->master_key, &o->backup_daemon_key}) {
      std::error_code ec;
      if (!f->empty() && !fs::is_regular_file(*f, ec)) return error(trf("{}: no such file", *f));
      if (!f->empty()) *f = fs::absolute(*f, ec).string();
    }
    std::vector<Plan> plans;
    if (o->all) {
      auto all = builtin(o->paths);
      if (!all) return error(all.error().message());
      plans = std::move(*all);
    }
    for (const auto& name : o->scenarios) {
      auto p = find_plan(o->paths, name);
      if (!p) return error(p.error().message());
      plans.push_back(std::move(*p));
    }
    for (const auto& file : o->plans) {
      auto p = load_plan(file);
      if (!p) return error(p.error().message());
      plans.push_back(std::move(*p));
    }
    if (plans.empty()) return error(tr("name scenarios, --all or --plan FILE"));
    if (o->target == "systemd") {
      // On the real units the drill only kills, stops, starts and reloads gongshud through
      // systemctl; it never rewrites the host's store, keys, policy or configuration.
      for (const auto& plan : plans) {
        for (const auto& step : plan.steps) {
          switch (step.action) {
            case Action::kReloadPolicy:
            case Action::kRotateDaemonKey:
            case Action::kBackup:
            case Action::kRestore:
            case Action::kGrowStore:
            case Action::kPowercutMount:
            case Action::kPowerCut:
            case Action::kClusterStart:
              return error(
                  trf("--target systemd: {}:{}: `{}` is for a sandbox only (it would "
                      "change the host's store, keys, policy or configuration)",
                      plan.file, step.line, action_name(step.action)));
            default:
              break;
          }
        }
      }
    }

    Report report;
    report.tool_version = kVersion;
    report.started_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    report.operator_key_id = key ? key->key.public_key().key_id() : "";
    report.report_id = new_report_id(report.started_at_ms);
    if (!o->from_backup.empty())
      report.target =
          "sandbox restored from " + o->from_backup;  // i18n-exempt: the report's target field
    for (const char* b : {"gongshud", "gongshu-agent", "gongshuctl", "gongshu-audit"}) {
      auto v = run_command({o->paths.bin + "/" + b, "--version"}, {}, std::chrono::seconds(10));
      report.binaries.emplace_back(b, v && v->exit_code == 0 ? first_line(v->out) : "unknown");
    }
    stop_on_signals();
    RunOptions ro;
    ro.bin_dir = o->paths.bin;
    ro.policies_dir = o->paths.policies;
    ro.keep = o->keep;
    ro.report_id = report.report_id;
    ro.sandbox.from_backup = o->from_backup;
    ro.sandbox.master_key = o->master_key;
    ro.sandbox.backup_daemon_key = o->backup_daemon_key;
    if (!o->from_backup.empty()) ro.sandbox.operator_key = fs::absolute(o->key).string();
    if (o->target == "systemd") {
      ro.sandbox.systemd_unit = "gongshud.service";
      ro.sandbox.systemd_config = o->config;
      ro.sandbox.operator_key = fs::absolute(o->key).string();
      report.target = "systemd: gongshud.service (" +  // i18n-exempt: the report's target field
                      o->config + ")";
    }
    ro.progress = &std::cerr;
    bool any_error = false;
    for (const auto& plan : plans) {
      if (stop_requested()) {
        any_error = true;
        break;
      }
      report.scenarios.push_back(run_plan(plan, ro));
      const auto& s = report.scenarios.back();
      any_error = any_error || !s.error.empty();
      if (!s.passed && s.error.empty()) {
        for (const auto& st : s.steps) {
          for (const auto& e : st.expectations) {
            if (!e.held) {
              // TRANSLATORS: {5} {6} are the expectation and its evidence in English, {7} {8}
              // the same in Chinese: show {7} and {8}.
              std::cerr << "gongshu-drill: "  // i18n-exempt: the program name
                        << trf("{0} FAILED at step {1} ({2}, {3}:{4}): {5} — {6}", s.name, st.index,
                               st.action, plan.file, st.line, e.text, e.evidence, e.text_zh,
                               e.evidence_zh)
                        << "\n";
            }
          }
        }
      } else if (!s.error.empty()) {
        std::cerr << "gongshu-drill: "  // i18n-exempt: the program name
                  << trf("{} could not run: {}", s.name, s.error) << "\n";
      }
    }
    std::string json = report_json(report);
    if (!o->report.empty()) {
      std::ofstream(o->report, std::ios::binary | std::ios::trunc) << sign_report(json, key->key);
      std::ofstream(o->report + ".txt", std::ios::binary | std::ios::trunc) << report_text(report);
      std::ofstream(o->report + ".html", std::ios::binary | std::ios::trunc) << report_html(report);
      std::cerr << "gongshu-drill: "  // i18n-exempt: the program name
                << trf("report signed by {0} in {1} (text: {1}.txt, HTML: {1}.html)",
                       report.operator_key_id, o->report)
                << "\n";
    }
    std::cout << (o->json ? json : report_text(report));
    *exit_code = any_error ? kExitError : report.passed() ? kExitOk : kExitFailed;
  });
}

void add_verify_report_command(CLI::App& app, int* exit_code) {
  struct Opts {
    std::string file, signer, html;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "verify-report",
      tr("Prove a signed drill report unaltered and print its text form. Without --signer it\n"
         "proves only that the key named in the report signed it: compare that key with the\n"
         "drill operator's registered one, or pass it with --signer."));
  cmd->add_option("FILE", o->file, tr("The report (run --report FILE)"))->required();
  cmd->add_option("--signer", o->signer,
                  tr("The operator's public key (64 hex) it must be signed by"));
  cmd->add_flag("--quiet", o->quiet, tr("Print only the verdict"));
  cmd->add_option("--html", o->html,
                  tr("Also write the verified report as a self-contained HTML page to this file"));
  cmd->callback([o, exit_code] {
    std::optional<crypto::PublicKey> expected;
    if (!o->signer.empty()) {
      auto k = crypto::PublicKey::from_hex(o->signer);
      if (!k) {
        std::cerr
            << "gongshu-drill verify-report: --signer: "  // i18n-exempt: program and command names
            << k.error().message() << "\n";
        return void(*exit_code = kExitError);
      }
      expected = *k;
    }
    std::error_code ec;
    auto size = fs::file_size(o->file, ec);
    if (ec || size > (64u << 20)) {
      std::cerr << "gongshu-drill verify-report: "  // i18n-exempt: program and command names
                << o->file << ": " << (ec ? ec.message() : tr("larger than 64 MiB")) << "\n";
      return void(*exit_code = kExitError);
    }
    std::ifstream in(o->file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto v = verify_report(ss.str(), expected);
    if (!v) {
      std::cerr << "gongshu-drill verify-report: "  // i18n-exempt: program and command names
                << o->file << ": " << v.error().message() << "\n";
      return void(*exit_code =
                      v.error().code() == ErrorCode::kUnauthenticated ? kExitFailed : kExitError);
    }
    auto text = report_text_from_json(v->json);
    if (!text) {
      std::cerr << "gongshu-drill verify-report: "  // i18n-exempt: program and command names
                << text.error().message() << "\n";
      return void(*exit_code = kExitError);
    }
    if (!o->html.empty()) {
      auto page = report_html_from_json(v->json);
      std::ofstream out(o->html, std::ios::binary | std::ios::trunc);
      if (page) out << *page;
      if (!page || !out) {
        std::cerr << "gongshu-drill verify-report: "  // i18n-exempt: program and command names
                  << o->html << ": "
                  << (page ? std::string(tr("cannot write")) : page.error().message()) << "\n";
        return void(*exit_code = kExitError);
      }
    }
    std::cout << trf("报告未被篡改 report verified: signed by {} ({})", v->signer.key_id(),
                     v->signer.hex())
              << "\n";
    if (!o->quiet) std::cout << "\n" << *text;
    *exit_code = kExitOk;
  });
}

}  // namespace gongshu::drill
