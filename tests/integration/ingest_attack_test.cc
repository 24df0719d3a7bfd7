// An adversary at the ingest socket of a real gongshud (issue 13, items 1 and 3): an enrolled
// agency's key flooding garbage frames, replays of a stored batch and batches under a used
// number as fast as the socket takes them, while another agency delivers real batches; and a
// key revoked while its connection stays open. The bounds asserted are the ones an operator
// relies on: audit entries per minute from the flooding key, the other agency's ack latency
// beside the same run without the flood, store growth, and the daemon's log lines.
//
// GONGSHU_FLOOD_SECONDS (default 60) sets the flood's length; the baseline runs half as long.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <regex>
#include <thread>
#include <vector>

#include "core/batch/batch.h"
#include "core/crypto/key_file.h"
#include "core/ids/citizen_id.h"
#include "core/util/clock.h"
#include "core/wire/client_channel.h"
#include "core/wire/codec.h"
#include "core/wire/context.h"
#include "gongshu/v1/batch.pb.h"
#include "gongshu/v1/record.pb.h"
#include "tests/integration/platform.h"
#include "tests/support/test_support.h"

namespace gongshu::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string field_of(const std::string& text, const std::string& name) {
  std::smatch m;
  if (std::regex_search(text, m, std::regex(name + " = \"([^\"]*)\""))) return m[1];
  return {};
}

uint64_t json_number(const std::string& json, const std::string& name) {
  std::smatch m;
  if (std::regex_search(json, m, std::regex("\"" + name + "\":(\\d+)"))) return std::stoull(m[1]);
  return 0;
}

v1::Record poi(const std::string& key) {
  v1::Record r;
  r.set_dataset("geo.poi");
  r.set_record_key(key);
  auto add = [&](const char* name) {
    auto* f = r.add_fields();
    f->set_name(name);
    return f->mutable_value();
  };
  add("name")->set_text("石家庄市公共服务设施 " + key);
  add("kind")->set_text("library");
  add("lon")->set_real(114.51);
  add("lat")->set_real(38.04);
  return r;
}

v1::Record household(int n) {
  // A valid citizen ID per n (n < 1000): 130102 19900101 sequence, and its check character.
  char body[32];
  std::snprintf(body, sizeof body, "13010219900101%03d", n % 1000);
  const std::string cid = std::string(body) + *ids::citizen_id_check_char(body);
  v1::Record r;
  r.set_dataset("population.household");
  r.set_record_key("hh-" + std::to_string(n));
  r.set_subject_id(cid);
  auto* f = r.add_fields();
  f->set_name("citizen_id");
  f->mutable_value()->set_text(cid);
  f = r.add_fields();
  f->set_name("name");
  f->mutable_value()->set_text("张三");
  f = r.add_fields();
  f->set_name("household_size");
  f->mutable_value()->set_integer(3);
  return r;
}

// One agent key's end of the ingest socket, speaking the protocol by hand (no REQUIRE inside:
// it runs on a thread of its own).
class Client {
 public:
  Client(wire::Context& ctx, crypto::IdentityKey key, const crypto::PublicKey& daemon,
         const std::string& endpoint, std::string agency)
      : key_(std::move(key)), daemon_(daemon), agency_(std::move(agency)) {
    auto ch = wire::ClientChannel::create(ctx, key_, daemon_);
    if (ch) channel_ = std::make_unique<wire::ClientChannel>(std::move(*ch));
    if (channel_) ok_ = static_cast<bool>(channel_->connect(endpoint));
  }
  bool ok() const { return ok_; }
  const crypto::IdentityKey& key() const { return key_; }

  Bytes seal(uint64_t seq, const std::vector<v1::Record>& records,
             const crypto::IdentityKey* signer = nullptr) {
    std::vector<std::string> bytes;
    for (const auto& r : records) bytes.push_back(r.SerializeAsString());
    v1::BatchHeader h;
    h.set_agency(agency_);
    h.set_batch_seq(seq);
    h.set_created_at_ms(SystemClock::instance().now_ms());
    auto sealed = batch::seal_batch(signer ? *signer : key_, daemon_, h, bytes);
    if (!sealed) return {};
    auto encoded = wire::encode(*sealed);
    return encoded ? *encoded : Bytes();
  }
  bool send(ByteView frame) { return static_cast<bool>(channel_->send(frame)); }
  std::optional<v1::BatchAck> ack(milliseconds timeout) {
    auto got = channel_->receive(timeout);
    if (!got || !*got) return std::nullopt;
    auto a = wire::decode_as<v1::BatchAck>(**got, 64 << 20);
    if (!a) return std::nullopt;
    return *a;
  }
  wire::HandshakeState state() { return channel_->handshake_state(); }

 private:
  crypto::IdentityKey key_;
  crypto::PublicKey daemon_;
  std::string agency_;
  std::unique_ptr<wire::ClientChannel> channel_;
  bool ok_ = false;
};

// The ingest socket as the agent `name` (enrolled by Platform::enroll_agent) reaches it.
struct Connected {
  std::unique_ptr<Client> client;
  crypto::PublicKey daemon_key;
};
Connected connect_as(Platform& p, wire::Context& ctx, const std::string& name,
                     const std::string& agency) {
  auto key = crypto::load_key_file(p.dir.file("agent-" + name + "/agent.key"));
  REQUIRE(key);
  const std::string info = read_text(p.dir.file("state/daemon.info"));
  auto daemon_key = crypto::PublicKey::from_hex(field_of(info, "daemon_public_key"));
  REQUIRE(daemon_key);
  auto client = std::make_unique<Client>(ctx, std::move(key->key), *daemon_key,
                                         field_of(info, "ingest"), agency);
  REQUIRE(client->ok());
  return Connected{std::move(client), *daemon_key};
}

struct Latencies {
  std::vector<double> ms;
  uint64_t failures = 0;  // a batch not stored within the phase (refused or never acked)
  double p(double q) const {
    if (ms.empty()) return 1e9;
    std::vector<double> s = ms;
    std::sort(s.begin(), s.end());
    return s[std::min(s.size() - 1, static_cast<size_t>(q * s.size()))];
  }
};

// The other agency: a batch of 100 records every 100 ms, each waited for (busy answers resent
// after their retry_after_ms), its ack latency taken from first send to the stored ack.
Latencies deliver_paced(Client& c, uint64_t* next_seq, int* next_key, Clock::time_point until) {
  Latencies out;
  while (Clock::now() < until) {
    const auto start = Clock::now();
    std::vector<v1::Record> records;
    for (int i = 0; i < 100; ++i) records.push_back(poi("poi-" + std::to_string((*next_key)++)));
    const uint64_t seq = (*next_seq)++;
    Bytes frame = c.seal(seq, records);
    bool stored = false;
    for (int attempt = 0; attempt < 50 && !stored; ++attempt) {
      if (!c.send(frame)) break;
      std::optional<v1::BatchAck> a;
      while ((a = c.ack(milliseconds(30'000))) && a->batch_seq() != seq) {
      }
      if (!a) break;
      if (a->error() == v1::BATCH_OK && a->accepted() == 100) {
        stored = true;
      } else if (a->error() == v1::BATCH_INTERNAL) {
        std::this_thread::sleep_for(milliseconds(std::max<uint32_t>(a->retry_after_ms(), 10)));
      } else {
        break;
      }
    }
    if (!stored) {
      ++out.failures;
      continue;
    }
    out.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    std::this_thread::sleep_until(start + milliseconds(100));  // pacing, not waiting
  }
  return out;
}

size_t count_lines(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  std::string line;
  while (std::getline(in, line)) ++n;
  return n;
}

struct Status {
  uint64_t audit = 0, used = 0, busy = 0, batches_refused = 0, quarantines = 0;
};

TEST_CASE("an enrolled key flooding the ingest socket cannot wear the daemon down", "[adversary]") {
  const int flood_s =
      std::getenv("GONGSHU_FLOOD_SECONDS") ? std::atoi(std::getenv("GONGSHU_FLOOD_SECONDS")) : 60;
  Platform p;
  p.ctl({"catalog", "add", std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/geo_poi.toml"});
  const std::string flood_cfg = p.enroll_agent("sjz-gongan", "flood");
  const std::string other_cfg = p.enroll_agent("sjz-ziranziyuan", "other");
  auto ctx = wire::Context::create(1);
  REQUIRE(ctx);
  Connected flooding_agent = connect_as(p, *ctx, "flood", "sjz-gongan");
  Connected delivering = connect_as(p, *ctx, "other", "sjz-ziranziyuan");
  Client& flood = *flooding_agent.client;
  Client& other = *delivering.client;
  auto status = [&] {
    std::string j = p.ctl({"status", "--json"}).out;
    return Status{json_number(j, "tree_size"), json_number(j, "used_bytes"),
                  json_number(j, "frames_busy"), json_number(j, "batches_refused"),
                  json_number(j, "agent_quarantines")};
  };

  // The flooder's ammunition: a batch it stored (replayed), another batch under the same number
  // (a conflict), a batch signed by a key that is not its own, and garbage of every size.
  std::vector<v1::Record> hh;
  for (int i = 0; i < 50; ++i) hh.push_back(household(i));
  const Bytes stored = flood.seal(1, hh);
  REQUIRE(flood.send(stored));
  auto first = flood.ack(milliseconds(20'000));
  REQUIRE(first);
  REQUIRE(first->error() == v1::BATCH_OK);
  hh.pop_back();
  const Bytes conflict = flood.seal(1, hh);
  const auto stranger = crypto::IdentityKey::generate();
  const Bytes forged = flood.seal(2, hh, &stranger);
  std::mt19937_64 rng(13);
  std::vector<Bytes> garbage;
  for (int i = 0; i < 64; ++i) {
    Bytes g(16 + rng() % 400);
    for (auto& b : g) b = static_cast<uint8_t>(rng());
    garbage.push_back(std::move(g));
  }

  uint64_t other_seq = 1;
  int other_key_n = 0;
  // Baseline: the other agency alone, a quarter of the flood's length before it and a quarter
  // after, so that a machine that speeds up or slows down over the run weighs on both sides.
  Latencies baseline = deliver_paced(other, &other_seq, &other_key_n,
                                     Clock::now() + std::chrono::seconds(flood_s / 4));
  REQUIRE(baseline.failures == 0);

  const Status before = status();
  const size_t log_before = count_lines(p.dir.file("gongshud.log"));
  const uint64_t other_batches_before = other_seq;
  std::atomic<bool> flooding{true};
  uint64_t frames = 0, acks = 0, attempts = 0;
  std::thread flooder([&] {
    const Bytes* ammo[] = {&stored, &conflict, &forged};
    for (uint64_t i = 0; flooding.load() && i < 50'000'000; ++i) {
      const Bytes& frame = (i % 4 == 3) ? garbage[i % garbage.size()] : *ammo[i % 4 % 3];
      ++attempts;
      if (flood.send(frame)) {
        ++frames;
      } else {
        (void)flood.ack(milliseconds(5));  // refused or cut: wait on the socket, do not spin
      }
      while (flood.ack(milliseconds(0))) ++acks;  // keep its queue from filling
    }
  });
  Latencies flooded =
      deliver_paced(other, &other_seq, &other_key_n, Clock::now() + std::chrono::seconds(flood_s));
  flooding = false;
  flooder.join();
  // Past the quarantine, the same agency alone again: the second half of the baseline.
  Latencies after_flood = deliver_paced(other, &other_seq, &other_key_n,
                                        Clock::now() + std::chrono::seconds(flood_s / 4));
  REQUIRE(after_flood.failures == 0);
  baseline.ms.insert(baseline.ms.end(), after_flood.ms.begin(), after_flood.ms.end());
  REQUIRE(baseline.ms.size() > 10);
  const Status after = status();
  const size_t log_after = count_lines(p.dir.file("gongshud.log"));

  // The summary of the flood's last window comes once the window has passed.
  const uint64_t other_batches = other_seq - other_batches_before;
  INFO("flood: " << attempts << " attempts, " << frames << " frames sent in " << flood_s << " s, "
                 << acks << " answers; other agency: " << flooded.ms.size() << " batches, p50 "
                 << flooded.p(0.5) << " ms, p99 " << flooded.p(0.99) << " ms (baseline p50 "
                 << baseline.p(0.5) << " ms, p99 " << baseline.p(0.99) << " ms); audit +"
                 << (after.audit - before.audit) << " entries (" << other_batches
                 << " from the other agency); store +" << (after.used - before.used)
                 << " bytes; log +" << (log_after - log_before) << " lines; busy +"
                 << (after.busy - before.busy));
  WARN("flood: " << frames << " frames in " << flood_s << " s; other agency p99 " << flooded.p(0.99)
                 << " ms vs " << baseline.p(0.99) << " ms without the flood; "
                 << "flooding key's audit entries " << (after.audit - before.audit - other_batches)
                 << "; log lines " << (log_after - log_before));
  // It flooded as fast as the socket took its frames, until it was quarantined for it (and then
  // kept trying).
  CHECK(frames >= 64 + 64);
  CHECK(after.quarantines >= 1);
  CHECK(attempts > frames);
  CHECK(flooded.failures == 0);
  // Fair service: the other agency's tail latency at most doubles, with 25 ms of slack for what
  // a busy 2-core machine's scheduler alone does to a p99 of ~600 samples (19 ms against a 7 ms
  // baseline was seen with a build beside it). Starving the other agency behind the flood costs
  // far more than that: whole queues of batches ahead of it, or its 30 s ack timeout.
  CHECK(flooded.p(0.99) <= 2 * baseline.p(0.99) + 25.0);
  // Every batch of the other agency is one entry; the flooding key adds at most a handful a
  // minute: three audited one by one, then one summary per minute.
  const uint64_t flood_entries = after.audit - before.audit - other_batches;
  CHECK(flood_entries <= 3 + 2 * static_cast<uint64_t>((flood_s + 59) / 60));
  // The store grows by the other agency's records (100 × ~1.2 KB per batch) and little else.
  CHECK(after.used - before.used <= other_batches * 100 * 2'000 + (4 << 20));
  // The daemon said little about it: no line per frame.
  CHECK(log_after - log_before <= 20);
}

TEST_CASE("a key revoked while its connection stays open is cut off at revocation", "[adversary]") {
  Platform p;
  const std::string cfg = p.enroll_agent("sjz-gongan", "revoked");
  const std::string other_cfg = p.enroll_agent("sjz-gongan", "other");
  auto ctx = wire::Context::create(1);
  REQUIRE(ctx);
  Connected revoked = connect_as(p, *ctx, "revoked", "sjz-gongan");
  Connected still = connect_as(p, *ctx, "other", "sjz-gongan");
  Client& c = *revoked.client;
  Client& o = *still.client;
  const std::string key_id = c.key().public_key().key_id();
  std::vector<v1::Record> hh{household(1)};
  REQUIRE(c.send(c.seal(1, hh)));
  auto a = c.ack(milliseconds(20'000));
  REQUIRE(a);
  REQUIRE(a->error() == v1::BATCH_OK);
  REQUIRE(c.state() == wire::HandshakeState::kConnected);

  p.ctl({"agent", "revoke", key_id});
  const uint64_t audit_after_revoke = json_number(p.ctl({"status", "--json"}).out, "tree_size");
  // Without sending anything, the open connection is cut, and the key cannot come back.
  REQUIRE(wait_until([&] { return c.state() != wire::HandshakeState::kConnected; },
                     std::chrono::seconds(10)));
  // Whatever it sends now gets no answer and costs no audit entry beyond a handful.
  const Bytes garbage(100, 0x42);
  // Sends fail once the connection is cut, which is the point.
  for (int i = 0; i < 20'000; ++i) (void)c.send(garbage);
  CHECK_FALSE(c.ack(milliseconds(500)));
  // Another agent of the same agency still delivers over its reconnected connection.
  std::vector<v1::Record> hh2{household(2)};
  const Bytes batch = o.seal(1, hh2);
  REQUIRE(o.send(batch));
  std::optional<v1::BatchAck> b;
  REQUIRE(wait_until(
      [&] {
        b = o.ack(milliseconds(200));
        if (!b) (void)o.send(batch);  // a cut may have dropped it: resend, as an agent does
        return b.has_value();
      },
      std::chrono::seconds(20)));
  CHECK(b->error() == v1::BATCH_OK);
  const uint64_t audit_end = json_number(p.ctl({"status", "--json"}).out, "tree_size");
  CHECK(audit_end - audit_after_revoke <= 5);
  CHECK(c.state() != wire::HandshakeState::kConnected);
}

// Issue 13 item 3: records protobuf refuses to parse (invalid UTF-8 in a string field, which the
// in-place reader declines and hands to protobuf) made one log line each: 30,000 lines from three
// batches, past journald's rate limit. Now a batch is one line, and repeats are limited.
TEST_CASE("records protobuf refuses are one log line per batch, not one per record",
          "[adversary]") {
  Platform p;
  p.enroll_agent("sjz-gongan", "utf8");
  auto ctx = wire::Context::create(1);
  REQUIRE(ctx);
  Connected connected = connect_as(p, *ctx, "utf8", "sjz-gongan");
  Client& c = *connected.client;
  const crypto::PublicKey& daemon_key = connected.daemon_key;
  const size_t log_before = count_lines(p.dir.file("gongshud.log"));
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    std::vector<std::string> records;
    for (int i = 0; i < 10'000; ++i) {
      std::string bytes = household(static_cast<int>(seq) * 10'000 + i).SerializeAsString();
      // 张三 (e5 bc a0 e4 b8 89) made invalid: its first lead byte without continuation.
      auto at = bytes.find("\xe5\xbc\xa0");
      REQUIRE(at != std::string::npos);
      bytes[at + 1] = 'A';
      records.push_back(std::move(bytes));
    }
    v1::BatchHeader h;
    h.set_agency("sjz-gongan");
    h.set_batch_seq(seq);
    h.set_created_at_ms(SystemClock::instance().now_ms());
    auto sealed = batch::seal_batch(c.key(), daemon_key, h, records);
    REQUIRE(sealed);
    REQUIRE(c.send(*wire::encode(*sealed)));
    auto a = c.ack(milliseconds(60'000));
    REQUIRE(a);
    CHECK(a->error() == v1::BATCH_OK);
    CHECK(a->accepted() == 0);
    CHECK(a->statuses_size() == 10'000);  // each refused as malformed, with its reason
  }
  const size_t lines = count_lines(p.dir.file("gongshud.log")) - log_before;
  INFO(read_text(p.dir.file("gongshud.log")));
  CHECK(lines <= 3);
}

}  // namespace
}  // namespace gongshu::testing
