// The worker stage of the ingest pipeline (daemon/ingest.h): everything about a batch that needs
// no write to the store and can run in parallel — open the seal, verify the agent's signature
// and every record hash, read each record in place and validate it against the catalog (the
// daemon never trusts the agent), and encrypt each accepted record into its stored version
// (daemon/version_encoding.h) but for the three fields only the writer knows.
//
// prepare_batch reads the directory, the catalog snapshot and the datasets' data keys (one read
// transaction); it writes only to the job. Any number of workers may run it at once.
#pragma once

#include "core/batch/batch.h"
#include "daemon/daemon_store.h"
#include "daemon/directory.h"
#include "daemon/ingest_job.h"
#include "daemon/status.h"

namespace gongshu::daemon {

struct PrepareContext {
  DaemonStore& store;
  Directory& directory;
  CatalogView& catalog;
  AgentActivityMap& activity;  // the agent's last frame and reported backlog, in memory
  batch::Limits limits;
};

// Prepares job: on return either job.refusal says why the whole batch is refused, or
// job.records holds each record's verdict and, for the accepted ones, its store key, subject
// index entry and encrypted version.
void prepare_batch(const PrepareContext& ctx, Job& job);

}  // namespace gongshu::daemon
