// DropDirWatcher: the drop-directory input. Producers put files into the directory, named
//   DATASET--anything.jsonl   or   DATASET--anything.csv   (also .ndjson, .json)
// where DATASET is the catalog id of the records' dataset. Write the file elsewhere (or under a
// name starting with '.') and rename it into the directory when complete; a file written in
// place is taken once it is closed (inotify IN_CLOSE_WRITE) or, found by the periodic rescan,
// once it has not changed for a second.
//
// Each file is spooled like `submit` (resuming after a crash without spooling rows twice; bad
// rows go to the rejected store with source "drop:NAME:LINE") and then moved to done/. A file
// Files are read in the configured encoding ([agent] drop_encoding: auto by default, which
// takes a UTF-8 BOM or valid UTF-8 as UTF-8 and anything else as GB18030); the journal line for
// each file names the encoding used and why, with the counts.
//
// A file that cannot be used at all (no dataset prefix, unknown dataset, unreadable header) is
// moved to failed/ next to a NAME.reason file saying why. Hidden files and other names are ignored.
//
// One thread runs run(); scan_once() is for tests and for the first pass.
#pragma once

#include <atomic>
#include <chrono>
#include <set>
#include <string>

#include "agent/intake.h"
#include "agent/record_reader.h"
#include "agent/spool.h"
#include "core/util/clock.h"

namespace gongshu::agent {

class DropDirWatcher {
 public:
  DropDirWatcher(Spool& spool, const Clock& clock, std::string dir,
                 std::chrono::milliseconds rescan, ReaderLimits limits,
                 EncodingChoice encoding = EncodingChoice::kAuto);

  // Creates done/ and failed/ if needed.
  Status prepare();
  // Watches until stop is set. Errors: the directory cannot be watched at all.
  Status run(const std::atomic<bool>& stop);
  // Processes every file that is ready; returns how many were moved to done/ or failed/.
  Result<size_t> scan_once(bool all_ready = false);

  // The last problem (a file left for a later try); empty when fine. Same thread as run().
  const std::string& last_error() const { return last_error_; }

 private:
  Status process(const std::string& name);
  Status move_to(const std::string& name, const std::string& sub, const std::string& reason);

  Spool& spool_;
  const Clock& clock_;
  std::string dir_;
  std::chrono::milliseconds rescan_;
  ReaderLimits limits_;
  EncodingChoice encoding_;
  Intake intake_;
  std::set<std::string> signalled_;  // names inotify reported complete
  std::string last_error_;
};

}  // namespace gongshu::agent
