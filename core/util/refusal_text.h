// Refusals for people, in their language. The reasons the daemon gives (an api reply's
// ApiError, a batch's BatchErrorCode, a record's RecordStatusCode) and the reasons the agent
// stores with a rejected record are English protocol or stored text (po/README.md): the daemon
// does not know who reads them, and a stored reason must not change with the writer's language.
// What the reader's side can translate is the refusal's class, the code that travels (or is
// stored) beside the reason. explain_refusal() puts the class in the reader's language before
// the English reason: under zh_CN "权限不足 (permission denied: operator role required)"; in
// English the reason alone, as before.
//
// Codes are named by their protocol names (v1::ApiErrorCode_Name(...) and the like), so this
// header needs no protocol library and a code it does not know passes through unchanged.
#pragma once

#include <cstring>
#include <string>
#include <string_view>

#include "core/util/i18n.h"

namespace gongshu {

struct RefusalClass {
  const char* code;   // the protocol's name of the code
  const char* words;  // English msgid (tr_noop), translated when shown
};

// The classes of refusal a client shows (protocol/gongshu/v1/api.proto, batch.proto).
inline constexpr RefusalClass kRefusalClasses[] = {
    {"API_BAD_REQUEST", tr_noop("bad request")},
    {"API_DENIED", tr_noop("permission denied")},
    {"API_NOT_FOUND", tr_noop("not found")},
    {"API_CONFLICT", tr_noop("conflict with the current state")},
    {"API_RATE_LIMITED", tr_noop("too many requests")},
    {"API_INTERNAL", tr_noop("internal error in the daemon")},
    {"API_UNAVAILABLE", tr_noop("the daemon cannot answer now")},
    {"BATCH_UNOPENABLE", tr_noop("the batch does not open with the daemon's key")},
    {"BATCH_BAD_SIGNATURE", tr_noop("the batch's signature is not valid")},
    {"BATCH_KEY_MISMATCH", tr_noop("the batch is signed by another key than the connection's")},
    {"BATCH_MALFORMED", tr_noop("the batch is malformed")},
    {"BATCH_TOO_LARGE", tr_noop("the batch is too large")},
    {"BATCH_SEQ_CONFLICT", tr_noop("another batch holds this batch number")},
    {"BATCH_INTERNAL", tr_noop("the daemon could not store the batch")},
    {"RECORD_STATUS_UNKNOWN_DATASET", tr_noop("unknown dataset")},
    {"RECORD_STATUS_NOT_PROVIDER", tr_noop("the agency is not the dataset's provider")},
    {"RECORD_STATUS_SCHEMA", tr_noop("does not fit the dataset's fields")},
    {"RECORD_STATUS_BAD_IDENTIFIER", tr_noop("identifier fails its check")},
    {"RECORD_STATUS_BIOMETRIC", tr_noop("biometric data without a legal basis")},
    {"RECORD_STATUS_NOT_FOUND", tr_noop("no such record")},
    {"RECORD_STATUS_MALFORMED", tr_noop("malformed record")},
    {"RECORD_STATUS_DATASET_NOT_APPROVED", tr_noop("dataset not approved")},
    {"RECORD_STATUS_QUALITY", tr_noop("breaks a quality rule")},
};

// The English words of a refusal code, or nullptr for a code not in the table.
inline const char* refusal_class(std::string_view code_name) {
  for (const auto& c : kRefusalClasses) {
    if (code_name == c.code) return c.words;
  }
  return nullptr;
}

// The class in the reader's language before the English reason, when the language translates
// it: "<class> (<English class>: <reason>)"; otherwise (English, an unknown code) the reason.
inline std::string explain_refusal(std::string_view code_name, std::string_view reason) {
  const char* words = refusal_class(code_name);
  if (words == nullptr) return std::string(reason);
  const char* shown = tr(words);
  if (std::strcmp(shown, words) == 0) return std::string(reason);
  return trf("{0} ({1}: {2})", shown, words, reason);
}

}  // namespace gongshu
