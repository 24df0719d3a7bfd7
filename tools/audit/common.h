// Helpers shared by the gongshu-audit subcommands: reading the small input files they take
// (keys, notes, proofs, receipts) with size limits, writing an output file, and printing audit
// entries as text or JSON. Everything printed from an export, a proof or a receipt is untrusted
// text: the text forms escape control characters so a crafted export cannot drive the
// officer's terminal. Pure functions apart from the file I/O; not shared between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/audit/merkle.h"
#include "core/crypto/identity.h"
#include "core/util/error.h"
#include "core/util/i18n.h"
#include "core/util/json.h"
#include "core/util/printable.h"
#include "gongshu/v1/audit.pb.h"

namespace gongshu::audit_cli {

// Size limits for the files the commands read whole.
inline constexpr size_t kMaxReceiptFile = 4 * 1024;
inline constexpr size_t kMaxProofFile = 256 * 1024;

// The daemon's public key from --key (64 hex characters).
Result<crypto::PublicKey> parse_key(std::string_view hex);
// Every --key given (repeatable: the daemon's keys before and after a rotation).
Result<std::vector<crypto::PublicKey>> parse_keys(const std::vector<std::string>& hex);
// Help text of the repeatable --key option (marked for the catalogue: show it with tr()).
inline constexpr const char* kKeyHelp = tr_noop(
    "The daemon's Ed25519 public key, 64 hex characters; repeat it to trust several (the keys\n"
    "before and after a daemon key rotation)");

// Reads a whole regular file of at most max_size bytes; the error names the file.
Result<std::string> read_small_file(const std::string& path, size_t max_size);

// Writes text to path ("-" is standard output), replacing the file atomically.
Status write_output(const std::string& path, std::string_view text);

std::string hex(const audit::Hash& h);
std::string b64(const audit::Hash& h);

// "2026-01-15T08:30:00.250Z"; times outside years 0000..9999 are printed as "<ms> ms".
std::string format_time_ms(int64_t ms);

// Untrusted text is printed through gongshu::printable() (core/util/printable.h); JsonWriter
// keeps JSON output valid UTF-8 and terminal-safe whatever a crafted note or message holds.

// "allow", "deny", "none", or "unknown (<n>)" for a value this version does not know.
std::string decision_text(int decision);

// An entry as indented "name: value" lines, headed "entry <seq>".
std::string entry_text(const v1::AuditEntry& e, const audit::Hash& entry_hash);
// The entry's fields as members of the object w is currently inside.
void entry_json_fields(JsonWriter& w, const v1::AuditEntry& e, const audit::Hash& entry_hash);

}  // namespace gongshu::audit_cli
