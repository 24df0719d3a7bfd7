// Delivery counts per (dataset, agency) for the quality report (R-12; issue 16): when an agency
// last delivered to a dataset, how many of its records were stored, refused (by reason class)
// and invalidations, and how often each field was given a value (completeness). Kept in the
// delivery_stats table (stored::DeliveryStats) and updated by the ingest writer inside the group
// commit that stores the records, so the counts are exactly what the store holds.
//
// Cost: DeliveryTally gathers a group's counts in memory (a few counters per record, the fields'
// counts by index from the worker's FieldMask) and writes one small entry per (dataset, agency)
// the group touched, read once and written once: no per-record store writes.
//
// A store from before these counts has no entries: a pair without one is unknown, not zero
// (the report says so). The first count for a pair records since_ms and whether the dataset
// held any version then (from_start: the counts are its whole history).
//
// Threads: DeliveryTally belongs to the ingest writer's transaction; read_delivery_stats() on any.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/store/txn.h"
#include "daemon/daemon_store.h"
#include "daemon/ingest_job.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {

// "quality", "schema", "not_found", ... for a refused record's code.
std::string reason_class(v1::RecordStatusCode code);
// The table's key of a pair.
std::string delivery_stats_key(std::string_view dataset, std::string_view agency);

class DeliveryTally {
 public:
  // One job at a time: begin, its records, end.
  void begin_batch(const Job& job);
  void stored(const store::Txn& txn, const DaemonStore::Tables& db, const PreparedRecord& pr,
              uint64_t version);
  void refused(const store::Txn& txn, const DaemonStore::Tables& db, const PreparedRecord& pr);
  void end_batch(int64_t now_ms);
  // Adds the group's counts to the stored entries (one read and one write per pair).
  Status write(store::WriteTxn& txn, const DaemonStore::Tables& db, int64_t now_ms);

 private:
  struct Slot {
    std::string dataset, agency;
    bool from_start = false;  // the dataset held no version before this group
    const catalog::DatasetSchema* schema = nullptr;
    std::vector<uint64_t> present;                  // by field index of schema
    std::map<std::string, uint64_t> present_named;  // from another schema of the group
    uint64_t batches = 0, accepted = 0, invalidations = 0, rejected = 0;
    uint64_t by_code[16] = {};
    stored::DeliveryStats last;  // last_* fields only
    // The batch being tallied.
    bool in_batch = false;
    uint64_t batch_stored = 0, batch_first = 0, batch_last = 0;
    bool batch_rejected = false;
    uint32_t rejected_index = 0;
    std::string rejected_class, rejected_field;
    void fold_present();
  };
  Slot& slot(const store::Txn& txn, const DaemonStore::Tables& db, const PreparedRecord& pr);

  const Job* job_ = nullptr;
  std::map<std::string, std::unique_ptr<Slot>, std::less<>> slots_;
  Slot* last_ = nullptr;
  std::vector<Slot*> touched_;  // by the batch being tallied
};

}  // namespace gongshu::daemon
