// The drill report: what ran, when, with which commands, what was measured and whether each
// expectation held. It is written as JSON (the authoritative form) and rendered as text with
// Chinese beside English. A signed report file is the JSON followed by a signature block:
//
//   <JSON document>\n
//   -----BEGIN GONGSHU DRILL SIGNATURE-----\n
//   signer <64 hex public key>\n
//   signature <base64 Ed25519 signature>\n
//   -----END GONGSHU DRILL SIGNATURE-----\n
//
// The signature is core/crypto's domain-separated signature (domain "gongshu.drill-report.v1")
// over the JSON bytes exactly as written. verify_report checks it and, when an expected signer
// is given, that the signer is that key; the readable form is then rendered from the verified
// JSON, so a text report can always be regenerated from proven data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto/identity.h"
#include "core/util/error.h"

namespace gongshu::drill {

struct CommandRecord {
  std::string command;
  int exit_code = 0;
  uint64_t duration_ms = 0;
};

// An expectation and its evidence in both languages (tools/drill/bilingual.h): `text` and
// `evidence` English, `text_zh` and `evidence_zh` Chinese; the JSON keeps all four whatever the
// language of the drill.
struct ExpectationResult {
  std::string text;
  bool held = false;
  std::string evidence;
  std::string text_zh;
  std::string evidence_zh;
};

struct StepResult {
  int index = 0;  // 1-based
  std::string action;
  int line = 0;
  std::string title;     // what the step does, in English (runner.h describe())
  std::string title_zh;  // the same in Chinese
  int64_t started_at_ms = 0;
  uint64_t duration_ms = 0;
  std::string outcome;  // "ok", "failed", "not run"
  std::vector<CommandRecord> commands;
  std::vector<std::pair<std::string, double>> figures;
  std::vector<ExpectationResult> expectations;
};

struct ScenarioResult {
  std::string name;
  std::string summary_zh;
  std::string summary_en;
  std::string plan_file;
  int64_t started_at_ms = 0;
  uint64_t duration_ms = 0;
  bool passed = false;
  std::string error;  // set when the drill could not run
  std::vector<StepResult> steps;
  // The entries the drill wrote in the target's audit log: drill_started, drill_finished and
  // their seq (0: the daemon could not record it).
  std::vector<std::pair<std::string, uint64_t>> audit_marks;
};

struct Report {
  std::string report_id;  // random, 16 hex: named in the target's audit log
  std::string tool_version;
  std::string target = "sandbox";
  std::vector<std::pair<std::string, std::string>> binaries;  // name, `--version` output
  std::string operator_key_id;
  int64_t started_at_ms = 0;
  std::vector<ScenarioResult> scenarios;
  bool passed() const;
};

std::string report_json(const Report& r);
std::string report_text(const Report& r);
// The text form of a report's JSON (as read back by verify-report).
[[nodiscard]] Result<std::string> report_text_from_json(const std::string& json);

// A self-contained HTML page of the report (Chinese beside English, every value HTML-escaped,
// no external resource), for officers to read and file.
std::string report_html(const Report& r);
[[nodiscard]] Result<std::string> report_html_from_json(const std::string& json);

std::string sign_report(const std::string& json, const crypto::IdentityKey& key);

struct VerifiedReport {
  std::string json;
  crypto::PublicKey signer;
};
// Error kUnauthenticated when the signature does not verify or the signer is not `expected`,
// kCorrupt when the file is not a signed report.
[[nodiscard]] Result<VerifiedReport> verify_report(
    const std::string& file_bytes, const std::optional<crypto::PublicKey>& expected);

// "2026-12-07T05:30:00.123Z"
std::string iso_time(int64_t ms);

}  // namespace gongshu::drill
