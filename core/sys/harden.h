// harden_process(): what a daemon that holds secret keys does first, before it loads them.
//
//   prctl(PR_SET_DUMPABLE, 0)   no core dump, and no ptrace attach or /proc/<pid>/mem read by
//                               other processes of the same user: secrets in memory stay there
//   setrlimit(RLIMIT_CORE, 0)   no core file even if something makes the process dumpable again
//
// SecretBytes memory is already excluded from dumps (sodium_malloc); this covers everything else
// (decrypted records, derived keys on the stack). The process can still be debugged by root.
// Call it once, from main(), before reading any key. The settings survive for the process's
// lifetime and are not inherited across execve of another binary.
#pragma once

#include "core/util/error.h"

namespace gongshu::sys {

Status harden_process();

}  // namespace gongshu::sys
