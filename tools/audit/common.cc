#include "tools/audit/common.h"

#include <cstdio>
#include <iostream>

#include "core/audit/entry.h"
#include "core/util/clock.h"
#include "core/util/encoding.h"
#include "core/util/fd.h"
#include "core/util/i18n.h"

namespace gongshu::audit_cli {
namespace {

// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in ms since the epoch.
constexpr int64_t kMinTimeMs = -62167219200000;
constexpr int64_t kMaxTimeMs = 253402300799999;

}  // namespace

Result<crypto::PublicKey> parse_key(std::string_view hex_text) {
  return with_context(crypto::PublicKey::from_hex(hex_text), "--key");
}

Result<std::vector<crypto::PublicKey>> parse_keys(const std::vector<std::string>& hex_texts) {
  std::vector<crypto::PublicKey> out;
  for (const auto& h : hex_texts) {
    GONGSHU_TRY(crypto::PublicKey k, parse_key(h));
    out.push_back(k);
  }
  if (out.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "--key: at least one is needed");  // i18n-exempt: a reason --json carries
  }
  return out;
}

Result<std::string> read_small_file(const std::string& path, size_t max_size) {
  GONGSHU_TRY(Bytes b, with_context(read_file(path, max_size), path));
  return std::string(as_chars(b));
}

Status write_output(const std::string& path, std::string_view text) {
  if (path == "-") {
    std::cout << text;
    std::cout.flush();
    if (!std::cout) return fail(ErrorCode::kIo, tr("standard output: write failed"));
    return {};
  }
  return write_file_atomic(path, as_bytes(text), 0644);
}

std::string hex(const audit::Hash& h) { return hex_encode(h); }
std::string b64(const audit::Hash& h) { return base64_encode(h); }

std::string format_time_ms(int64_t ms) {
  if (ms < kMinTimeMs || ms > kMaxTimeMs) return std::to_string(ms) + " ms";
  int64_t secs = ms / 1000;
  int64_t milli = ms % 1000;
  if (milli < 0) {
    milli += 1000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  CivilDate d = civil_from_days(days);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", d.year, d.month, d.day,
                int(rem / 3600), int(rem / 60 % 60), int(rem % 60), int(milli));
  return buf;
}

std::string decision_text(int decision) {
  switch (decision) {
    case v1::DECISION_NONE:
    case v1::DECISION_ALLOW:
    case v1::DECISION_DENY:
      return std::string(audit::decision_name(static_cast<v1::Decision>(decision)));
    default:
      return "unknown (" + std::to_string(decision) + ")";
  }
}

std::string entry_text(const v1::AuditEntry& e, const audit::Hash& entry_hash) {
  std::string out = "entry " + std::to_string(e.seq()) + "\n";
  auto line = [&out](std::string_view name, const std::string& value) {
    out.append("  ").append(name).append(":");
    out.append(name.size() < 13 ? 13 - name.size() : 1, ' ');
    out.append(value.empty() ? "(none)" : value).push_back('\n');
  };
  line("time", format_time_ms(e.time_ms()));
  const auto& p = e.principal();
  line("principal", p.agency().empty()
                        ? trf("key id {}, role {}", printable(p.key_id()), printable(p.role()))
                        : trf("key id {}, role {}, agency {}", printable(p.key_id()),
                              printable(p.role()), printable(p.agency())));
  line("action", printable(e.action()));
  line("dataset", printable(e.dataset()));
  line("purpose", printable(e.purpose()));
  if (e.policy_rule().empty() && e.policy_version().empty()) {
    line("policy", "");
  } else {
    line("policy",
         "rule " + printable(e.policy_rule()) + ", version " + printable(e.policy_version()));
  }
  line("decision", decision_text(e.decision()));
  line("records", std::to_string(e.record_count()));
  std::string refs;
  for (const auto& r : e.refs()) {
    if (!refs.empty()) refs += ", ";
    refs += printable(r.kind()) + " " + printable(r.value());
  }
  line("refs", refs);
  line("detail", printable(e.detail()));
  line("prev_hash", hex_encode(as_bytes(e.prev_hash())));
  line("entry_hash", hex(entry_hash));
  return out;
}

void entry_json_fields(JsonWriter& w, const v1::AuditEntry& e, const audit::Hash& entry_hash) {
  w.field("seq", uint64_t{e.seq()})
      .field("prev_hash", hex_encode(as_bytes(e.prev_hash())))
      .field("entry_hash", hex(entry_hash))
      .field("time_ms", int64_t{e.time_ms()})
      .field("time", format_time_ms(e.time_ms()));
  w.key("principal")
      .begin_object()
      .field("key_id", e.principal().key_id())
      .field("role", e.principal().role())
      .field("agency", e.principal().agency())
      .end_object();
  w.field("action", e.action())
      .field("dataset", e.dataset())
      .field("purpose", e.purpose())
      .field("policy_rule", e.policy_rule())
      .field("policy_version", e.policy_version())
      .field("decision", decision_text(e.decision()))
      .field("record_count", uint64_t{e.record_count()});
  w.key("refs").begin_array();
  for (const auto& r : e.refs()) {
    w.begin_object().field("kind", r.kind()).field("value", r.value()).end_object();
  }
  w.end_array();
  w.field("detail", e.detail());
}

}  // namespace gongshu::audit_cli
