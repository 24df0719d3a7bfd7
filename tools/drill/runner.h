// The drill runner: carries out a plan's steps, in order, against a fresh sandbox platform
// (tools/drill/sandbox.h), times each step, keeps what was submitted and acknowledged, and
// records commands, figures and expectations in a ScenarioResult. The first step whose
// expectation does not hold fails the scenario; the remaining steps are listed as not run.
// Progress (step, elapsed time, what it waits for) goes to the progress stream as it happens.
// One thread; a runner holds no state between scenarios.
#pragma once

#include <ostream>
#include <string>

#include "tools/drill/bilingual.h"
#include "tools/drill/plan.h"
#include "tools/drill/report.h"
#include "tools/drill/sandbox.h"

namespace gongshu::drill {

struct RunOptions {
  std::string bin_dir;
  std::string policies_dir;
  bool keep = false;
  std::string report_id;  // named in the drill_started / drill_finished audit entries
  // The sandbox's own settings: from_backup, master_key, backup_daemon_key, operator_key (the
  // rest is filled in per plan).
  SandboxOptions sandbox;
  std::ostream* progress = nullptr;  // may be null
};

// passed == true: every expectation held. error non-empty: the drill could not run (the
// sandbox could not be built, a binary could not be started).
ScenarioResult run_plan(const Plan& plan, const RunOptions& options);

// Set from a SIGINT/SIGTERM handler (commands.cc): the running scenario stops at its next
// step or poll, as "could not run", and its sandbox is removed on the way out.
void request_stop();
bool stop_requested();

// A one-line description of a step, for `show` and the report, in both languages (the report's
// title and title_zh; tools/drill/bilingual.h).
Bilingual describe(const Step& step);

}  // namespace gongshu::drill
