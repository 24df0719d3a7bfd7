// Failpoints: named places where a test may make the process fail on purpose, to prove that
// what follows a crash there is recovered (e.g. an alert committed but not yet announced,
// daemon/alerts.h). They are compiled into every build and do nothing unless the environment
// variable GONGSHU_FAILPOINTS names them (comma-separated); only tests set it. Never set it on a
// production host: a failpoint kills the process.
//
// The names in use:
//   alert_before_announce   gongshud: SIGKILL itself after an alert committed, before its
//                           journal message and notify_command (daemon/alerts.cc)
//   agent.*                 gongshu-agent: the forwarder's durable steps and key rotation's
//                           (agent/failpoints.h)
//
// failpoint_enabled() reads the environment: call it before the process starts threads (getenv
// races with setenv) and keep the answer.
#pragma once

#include <string_view>

namespace gongshu {

bool failpoint_enabled(std::string_view name);

// Ends the process at once with SIGKILL, as a power cut or the OOM killer would: no destructor,
// no flush, no atexit.
[[noreturn]] void failpoint_crash(std::string_view name);

}  // namespace gongshu
