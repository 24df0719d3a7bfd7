// The drill's checker (tools/drill/checker.h) on histories made by hand: each verdict an
// acknowledged batch can get, the unknown batch whose ack was lost, and the RPO after a restore.

#include <catch2/catch.hpp>
#include <map>

#include "tools/drill/checker.h"

namespace gongshu::drill {
namespace {

std::string h(char c) { return std::string(64, c); }

ReceiptRef receipt(char batch, uint64_t seq, char entry) {
  ReceiptRef r;
  r.event_hash = h(batch);
  r.seq = seq;
  r.entry_hash = h(entry);
  r.tree_size = seq;
  return r;
}

IngestEntry ingest(uint64_t seq, char entry, char batch, uint64_t records,
                   std::string agency = "sjz-gongan") {
  IngestEntry e;
  e.seq = seq;
  e.entry_hash = h(entry);
  e.batch_hash = h(batch);
  e.key_id = "key-of-" + agency;
  e.agency = std::move(agency);
  e.dataset = "population.household";
  e.record_count = records;
  return e;
}

// A prover that knows the log as given (what gongshu-audit prove / check-proof would show).
ProveFn prover(const std::vector<IngestEntry>& log, uint64_t size) {
  return [&log, size](uint64_t seq) -> Result<Proven> {
    for (const auto& e : log) {
      if (e.seq == seq) return Proven{e.entry_hash, size};
    }
    return fail(ErrorCode::kNotFound, "no entry " + std::to_string(seq));
  };
}

}  // namespace

TEST_CASE("checker: acknowledged batches recorded once and proven pass") {
  std::vector<IngestEntry> log = {ingest(3, 'a', '1', 100), ingest(4, 'b', '2', 50),
                                  ingest(5, 'c', '3', 70, "sjz-shichang")};
  HistoryInput in{{"key-of-sjz-gongan"},
                  {receipt('1', 3, 'a'), receipt('2', 4, 'b')},
                  &log,
                  9,
                  prover(log, 9),
                  0};
  auto c = check_history(in);
  CHECK(c.holds());
  CHECK(c.acknowledged_batches == 2);
  CHECK(c.proven_batches == 2);
  CHECK(c.proven_records == 150);
  CHECK(c.unknown_batches == 0);  // the other agency's batch is not ours
  CHECK(c.problems.empty());
}

TEST_CASE("checker: lost, doubled, contradicted and unproven batches fail, naming the batch") {
  std::vector<IngestEntry> log = {ingest(3, 'a', '1', 100), ingest(4, 'b', '2', 10),
                                  ingest(6, 'd', '2', 10), ingest(7, 'e', '4', 5)};
  SECTION("no entry records an acknowledged batch") {
    HistoryInput in{{"key-of-sjz-gongan"}, {receipt('9', 8, 'f')}, &log, 9, prover(log, 9), 0};
    auto c = check_history(in);
    CHECK(!c.holds());
    CHECK(c.lost_batches == 1);
    REQUIRE(c.problems.size() == 1);
    CHECK(c.problems[0].find("no ingest entry") != std::string::npos);
  }
  SECTION("a batch recorded twice") {
    HistoryInput in{{"key-of-sjz-gongan"}, {receipt('2', 4, 'b')}, &log, 9, prover(log, 9), 0};
    auto c = check_history(in);
    CHECK(c.doubled_batches == 1);
    CHECK(!c.holds());
    CHECK(c.problems[0].find("entries 4, 6") != std::string::npos);
  }
  SECTION("the log records the batch elsewhere than the receipt says") {
    HistoryInput in{{"key-of-sjz-gongan"}, {receipt('4', 6, 'e')}, &log, 9, prover(log, 9), 0};
    auto c = check_history(in);
    CHECK(c.lost_batches == 1);
    CHECK(!c.holds());
  }
  SECTION("no inclusion proof under the checkpoint") {
    HistoryInput in{{"key-of-sjz-gongan"},
                    {receipt('1', 3, 'a')},
                    &log,
                    9,
                    [](uint64_t) -> Result<Proven> {
                      return fail(ErrorCode::kUnauthenticated, "root mismatch");
                    },
                    0};
    auto c = check_history(in);
    CHECK(c.unproven_batches == 1);
    CHECK(!c.holds());
    CHECK(c.problems[0].find("root mismatch") != std::string::npos);
  }
  SECTION("a proof under an older checkpoint does not count") {
    HistoryInput in{{"key-of-sjz-gongan"}, {receipt('1', 3, 'a')}, &log, 9, prover(log, 5), 0};
    CHECK(check_history(in).unproven_batches == 1);
  }
}

TEST_CASE("checker: a stored batch whose ack was lost is unknown, neither lost nor proven") {
  std::vector<IngestEntry> log = {ingest(3, 'a', '1', 100), ingest(4, 'b', '2', 40)};
  HistoryInput in{{"key-of-sjz-gongan"}, {receipt('1', 3, 'a')}, &log, 9, prover(log, 9), 0};
  auto c = check_history(in);
  CHECK(c.holds());
  CHECK(c.proven_batches == 1);
  CHECK(c.unknown_batches == 1);
  CHECK(c.unknown_records == 40);
  CHECK(c.lost_batches == 0);
}

TEST_CASE("checker: after a restore, batches acknowledged after the backup are RPO, not lost") {
  std::vector<IngestEntry> log = {ingest(3, 'a', '1', 100)};
  // Restored log of 5 entries: a receipt for entry 8 came after the backup; one for entry 4
  // was in it and is gone, which is a loss.
  HistoryInput in{{"key-of-sjz-gongan"},
                  {receipt('1', 3, 'a'), receipt('2', 8, 'b'), receipt('3', 4, 'c')},
                  &log,
                  9,
                  prover(log, 9),
                  5};
  auto c = check_history(in);
  CHECK(c.rpo_batches == 1);
  CHECK(c.rpo_receipts.size() == 1);
  CHECK(c.lost_batches == 1);
  CHECK(c.proven_batches == 1);
}

TEST_CASE("checker: receipts and show --json are read as the tools write them") {
  auto r = parse_receipt_ref("gongshu receipt v1\nevent_hash " + h('1') + "\nseq 23\nentry_hash " +
                                 h('a') +
                                 "\ntree_size 23\nroot x=\nissued_at_ms 1\n"
                                 "daemon_key_id 609121b2f7d2280b\nsignature y=\n",
                             "batch-1.receipt");
  REQUIRE(r);
  CHECK(r->seq == 23);
  CHECK(r->event_hash == h('1'));
  CHECK(!parse_receipt_ref("not a receipt\n", "x"));
  CHECK(!parse_receipt_ref("gongshu receipt v1\nseq 2x\n", "x"));

  std::string jsonl =
      R"({"type":"entry","seq":1,"action":"init","principal":{"agency":""},"refs":[]})"
      "\n"
      R"({"type":"checkpoint","tree_size":1})"
      "\n"
      R"({"type":"entry","seq":2,"entry_hash":")" +
      h('e') +
      R"(","principal":{"key_id":"k","role":"agent","agency":"sjz-gongan"},"action":"ingest","dataset":"population.household","record_count":100,"refs":[{"kind":"batch","value":"k/1"},{"kind":"batch_hash","value":")" +
      h('1') + R"("}]})" + "\n";
  auto entries = parse_ingest_entries(jsonl);
  REQUIRE(entries);
  REQUIRE(entries->size() == 1);
  CHECK((*entries)[0].seq == 2);
  CHECK((*entries)[0].batch_hash == h('1'));
  CHECK((*entries)[0].agency == "sjz-gongan");
  CHECK((*entries)[0].key_id == "k");
  CHECK((*entries)[0].record_count == 100);
  CHECK(!parse_ingest_entries("{not json\n"));
}

}  // namespace gongshu::drill
