// The command groups of gongshuctl. Each add_* function registers its subcommands on the app;
// when a subcommand runs, its callback stores the process exit code in *exit_code
// (0 success, 1 the command ran and found a problem, 2 it could not run / usage error).
// Output goes to std::cout, diagnostics to std::cerr.
#pragma once

#include <sys/types.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/util/error.h"

namespace gongshu::ctl {

class DaemonClient;
struct ConnectOptions;

void add_keygen_command(CLI::App& app, int* exit_code);
void add_id_commands(CLI::App& app, int* exit_code);
// agency, catalog, enroll-token, agent, record: registries kept by gongshud.
void add_registry_commands(CLI::App& app, int* exit_code);
// catalog submit | pending | review | retire | history: the catalog workflow, under the
// catalog group add_registry_commands makes (defined in catalog_cmd.cc).
void add_catalog_workflow_commands(CLI::App* catalog, int* exit_code);
// audit head | checkpoint | export.
void add_audit_commands(CLI::App& app, int* exit_code);
// policy check | validate: offline decisions and explanations (core/policy).
void add_policy_commands(CLI::App& app, int* exit_code);
// query | lookup | open-catalog | download | aggregate: data through the policy (issue 5).
void add_access_commands(CLI::App& app, int* exit_code);
// agreement apply | review | approve | sign | list | show | revoke | violation.
void add_agreement_commands(CLI::App& app, int* exit_code);
// principal add | list | revoke: agency users, applicants, licensed operators, staff.
void add_principal_commands(CLI::App& app, int* exit_code);
// backup create: a hot backup streamed from the daemon (issue 6).
void add_backup_commands(CLI::App& app, int* exit_code);
// status: the running daemon's live figures (issue 6).
void add_status_command(CLI::App& app, int* exit_code);
// daemon-key rotate | show | statement: the daemon's identity key rotation (issue 6).
void add_daemon_key_commands(CLI::App& app, int* exit_code);
// alert list | show | ack: security monitoring (R-24, docs/monitoring.md).
void add_alert_commands(CLI::App& app, int* exit_code);
// dataset destroy | destruction: crypto-shredding under dual control.
void add_dataset_commands(CLI::App& app, int* exit_code);
// objection file | verify | answer | list | show (R-11, docs/objections.md).
void add_objection_commands(CLI::App& app, int* exit_code);
// consent grant | revoke | list (R-15, docs/objections.md).
void add_consent_commands(CLI::App& app, int* exit_code);
// quality report: data quality per dataset and agency (R-12, docs/quality.md).
void add_quality_commands(CLI::App& app, int* exit_code);

// cluster status | switchover: the replicated mode (docs/replication.md).
void add_cluster_commands(CLI::App& app, int* exit_code);

// One chunk of a chunked download (audit export, backup).
struct Chunk {
  std::string data;
  bool last = false;
  uint64_t total = 0;  // bytes in the whole stream; 0 when the daemon does not say
};
// Downloads a chunked stream into out: next(offset) fetches the chunk at offset; the bytes go
// to out.partial (created with mode, removed on failure), which is synced and renamed to out.
// Progress on stderr when asked. Returns the bytes written (defined in backup_cmd.cc).
Result<uint64_t> download_to_file(const std::string& out, mode_t mode, const std::string& label,
                                  bool progress,
                                  const std::function<Result<Chunk>(uint64_t offset)>& next);

// Shared by the command groups that talk to gongshud (defined in access_cmd.cc).
// Adds the connection options to cmd and runs body, connected, when cmd is chosen.
void run_connected(CLI::App* cmd, std::shared_ptr<ConnectOptions> conn, int* exit_code,
                   std::function<int(DaemonClient&)> body);
// "2026-03-02T04:00:00Z" for ms since the epoch; "-" for 0. For --json and files.
std::string time_text(int64_t ms);
// "2026-03-02 12:00:00 CST (Asia/Shanghai)": for people, in their zone (core/util/local_time.h,
// TZ or Asia/Shanghai); "-" for 0.
std::string local_time_text(int64_t ms);
// "2027-01-01" (midnight in the zone people use: TZ, else Asia/Shanghai) or
// "2027-01-01T08:30:00+08:00" / "...Z" (a time without a zone: China Standard Time).
Result<int64_t> parse_time(const std::string& text);
// "a,b,c" -> {"a", "b", "c"}, empty items dropped.
std::vector<std::string> split_list(const std::string& text);

}  // namespace gongshu::ctl
