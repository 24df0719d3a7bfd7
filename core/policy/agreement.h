// Agreement facts: what a decision needs to know about the agreements a caller holds. The
// daemon keeps agreements (R-18 open-use agreements, R-13 sharing approvals, R-20 licences) in
// its store, looks up the caller's and passes them in a Request; this library only decides
// whether one of them satisfies a rule (core/policy/decide.h). It stores nothing.
//
// parse_agreements_toml() reads the same facts from TOML, for `gongshuctl policy check
// --agreements FILE` (offline checks) and for tests:
//
//   [[agreement]]
//   id = "KF-2026-0001"
//   kind = "open"                     # open (R-18) | share (R-13) | licence
//   status = "active"                 # pending | active | suspended | revoked | expired
//   holder = "3f2a9c0d1e4b5a67"       # key id of the holder, or the agency id (share)
//   purposes = ["traffic-research"]
//   valid_from = 2026-01-01T00:00:00+08:00   # a TOML date-time with offset, or a date
//   valid_to = 2027-01-01                    # (midnight UTC+8); exclusive
//   rows_remaining = 10000            # optional: no quota when absent
//   [[agreement.scope]]
//   dataset = "population.household"
//   fields = ["birth_date", "address"] # ["*"] = every field
//
// Plain values; safe to share between threads once built.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/error.h"

namespace gongshu::policy {

enum class AgreementKind : uint8_t { kOpen, kShare, kLicence };
enum class AgreementStatus : uint8_t { kPending, kActive, kSuspended, kRevoked, kExpired };

struct AgreementScope {
  std::string dataset;
  std::vector<std::string> fields;  // a single "*" covers every field
};

struct Agreement {
  std::string id;
  AgreementKind kind = AgreementKind::kOpen;
  AgreementStatus status = AgreementStatus::kPending;
  std::string holder;
  std::vector<AgreementScope> scope;
  std::vector<std::string> purposes;
  int64_t valid_from_ms = 0;               // inclusive, ms since the epoch
  int64_t valid_to_ms = 0;                 // exclusive: nothing is allowed at or after it
  std::optional<uint64_t> rows_remaining;  // nullopt: the agreement sets no row quota
};

std::string_view agreement_kind_name(AgreementKind k);
std::string_view agreement_status_name(AgreementStatus s);
std::optional<AgreementKind> parse_agreement_kind(std::string_view s);
std::optional<AgreementStatus> parse_agreement_status(std::string_view s);

// Parses [[agreement]] tables (format above); errors read "file:line: reason".
Result<std::vector<Agreement>> parse_agreements_toml(std::string_view text,
                                                     const std::string& file_name);

}  // namespace gongshu::policy
