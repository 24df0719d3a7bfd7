// Issue 20, "a tampered write set is refused" and "a deposed primary is refused", of the system
// rather than of core/replication alone: a real three-member etcd cluster and three gongshud in
// [cluster] mode (tests/integration/cluster_platform.h), each advertising its replication
// endpoint through a relay the test runs (`[cluster] advertise_replication`).
//
// The relay is the strongest adversary in the path short of the leader itself: it holds the
// node keys (as an insider who copied them from the nodes would), so it completes CURVE with the
// replica as the leader and with the leader as the replica, and sees and can change every
// ReplicationMessage in clear. Everything a relay without the keys can do (flip bits in the
// ciphertext) is refused earlier, by CURVE's authenticator, and only drops the connection; this
// relay gets its bytes past CURVE, so what is shown below is the replica's own checks in the
// daemon:
//   (a) a write set whose bytes are altered in flight (one byte of its operations flipped, the
//       stated hash left as the leader wrote it): the replica refuses it (the hash does not match
//       its contents), applies nothing of it, journals why (GONGSHU_EVENT=replica_refused,
//       GONGSHU_REFUSAL_KIND=altered, GONGSHU_REFUSED_SEQ; the words are translated) and
//       tells the leader — its first word about that seq is the refusal, never an ack; one
//       second later it asks again from its own head, the genuine write set arrives and applies,
//       the agent's records are all acknowledged, and its audit root equals the leader's.
//   (b) write sets from an old term: the leader is SIGSTOPped and deposed (another node wins a
//       new term), then resumes (SIGCONT). Its replicas have left its channel, so the only way
//       its old-term stream reaches a replica is the relay carrying it: the stream it really
//       sent in its term, injected into the replica's channel with the new leader — as is (it
//       names the deposed leader: refused, GONGSHU_REFUSAL_KIND=other-leader) and relabelled as
//       the new leader's (sent under the old term: refused, GONGSHU_REFUSAL_KIND=deposed, the
//       write set's seq). Both are journalled, neither applies anything, and the write sets of the
//       new term that follow still apply: equal audit roots and records on the new leader and the
//       replica.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "core/crypto/key_file.h"
#include "core/replication/write_set_codec.h"
#include "core/wire/client_channel.h"
#include "core/wire/context.h"
#include "core/wire/curve_key.h"
#include "core/wire/server_channel.h"
#include "core/wire/zap_handler.h"
#include "gongshu/v1/replication.pb.h"
#include "tests/integration/cluster_platform.h"

namespace gongshu::testing {
namespace {

using namespace std::chrono_literals;

// One message through the relay: who it concerns and what it was.
struct Seen {
  std::string replica;
  bool from_replica = false;
  v1::ReplicationMessage message;
};

// The relay in front of one node's replication endpoint (see the file comment). One thread:
// every socket is used only there; tamper and inject requests are queued under a mutex.
class KeyRelay {
 public:
  KeyRelay(std::string node, int port, std::string upstream, const std::string& node_key_file,
           const std::map<std::string, std::string>& member_key_files)
      : node_(std::move(node)), upstream_(std::move(upstream)) {
    auto kf = crypto::load_key_file(node_key_file);
    REQUIRE(kf);
    node_key_.emplace(std::move(kf->key));
    std::map<wire::CurveKey, std::string> by_curve;
    for (const auto& [id, path] : member_key_files) {
      auto m = crypto::load_key_file(path);
      REQUIRE(m);
      auto ck = wire::curve_key_of(m->key.public_key());
      REQUIRE(ck);
      by_curve[*ck] = id;
      member_keys_.emplace(id, std::move(m->key));
    }
    auto ctx = wire::Context::create();
    REQUIRE(ctx);
    context_.emplace(std::move(*ctx));
    auto zap = wire::ZapHandler::start(
        *context_,
        [by_curve](const wire::CurveKey& k, std::string_view) -> std::optional<std::string> {
          auto it = by_curve.find(k);
          if (it == by_curve.end()) return std::nullopt;
          return it->second;
        });
    REQUIRE(zap);
    zap_.emplace(std::move(*zap));
    wire::ServerOptions so;
    so.zap_domain = "gongshu.replication";
    so.max_message_size = replication::kMaxWriteSetBytes + (size_t{1} << 20);
    auto ch = wire::ServerChannel::create(*context_, *zap_, *node_key_, so);
    REQUIRE(ch);
    server_.emplace(std::move(*ch));
    REQUIRE(server_->bind("tcp://127.0.0.1:" + std::to_string(port)));
    thread_ = std::thread([this] { run(); });
  }
  ~KeyRelay() {
    stop_.store(true);
    thread_.join();
    upstreams_.clear();
    server_.reset();
    zap_.reset();
  }

  // The next stream carrying write sets to `replica` has one byte of its first write set's
  // operations flipped. Returns at once; tampered_seq() says which seq it hit.
  void tamper_next(const std::string& replica) {
    std::lock_guard lock(mu_);
    tamper_for_ = replica;
    tampered_seq_ = 0;
  }
  uint64_t tampered_seq() {
    std::lock_guard lock(mu_);
    return tampered_seq_;
  }
  // Sends `m` to `replica` on its current connection to this relay (false: none).
  bool inject(const std::string& replica, const v1::ReplicationMessage& m) {
    std::lock_guard lock(mu_);
    injections_.push_back({replica, m});
    return true;
  }
  size_t injected_sent() { return injected_sent_.load(); }
  // From now on streams carrying write sets are kept here, not delivered (heartbeats still are):
  // the node commits write sets no replica receives — an unshipped tail.
  void swallow() {
    std::lock_guard lock(mu_);
    swallowing_ = true;
  }
  // The first stream with write sets swallowed (key shares stripped), or nothing.
  std::optional<v1::ReplicationMessage> swallowed() {
    std::lock_guard lock(mu_);
    return swallowed_;
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  void run() {
    while (!stop_.load()) {
      auto in = server_->receive(2ms);
      if (in && *in) {
        const std::string replica = (*in)->user_id;
        routes_[replica] = (*in)->from;
        auto& up = upstream(replica);
        if (up) (void)up->send((*in)->payload);
        record(replica, true, (*in)->payload);
      }
      for (auto& [replica, up] : upstreams_) {
        if (!up) continue;
        for (int i = 0; i < 64; ++i) {
          auto got = up->receive(0ms);
          if (!got || !*got) break;
          Bytes bytes = std::move(**got);
          if (!maybe_tamper(replica, bytes)) continue;  // swallowed
          record(replica, false, bytes);
          if (auto r = routes_.find(replica); r != routes_.end())
            (void)server_->send(r->second, bytes);
        }
      }
      std::vector<std::pair<std::string, v1::ReplicationMessage>> queued;
      {
        std::lock_guard lock(mu_);
        queued.swap(injections_);
      }
      for (const auto& [replica, m] : queued) {
        auto r = routes_.find(replica);
        std::string bytes = m.SerializeAsString();
        if (r != routes_.end() && server_->send(r->second, as_bytes(bytes)))
          injected_sent_.fetch_add(1);
      }
    }
  }
  std::optional<wire::ClientChannel>& upstream(const std::string& replica) {
    auto& up = upstreams_[replica];
    if (up) return up;
    auto key = member_keys_.find(replica);
    if (key == member_keys_.end()) return up;
    wire::ClientOptions co;
    co.max_message_size = replication::kMaxWriteSetBytes + (size_t{1} << 20);
    auto ch = wire::ClientChannel::create(*context_, key->second, node_key_->public_key(), co);
    if (!ch || !ch->connect(upstream_)) return up;
    up.emplace(std::move(*ch));
    return up;
  }
  // False: swallowed, deliver nothing.
  bool maybe_tamper(const std::string& replica, Bytes& bytes) {
    v1::ReplicationMessage m;
    if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return true;
    if (!m.has_stream() || m.stream().write_sets_size() == 0) return true;
    std::lock_guard lock(mu_);
    if (swallowing_) {
      if (!swallowed_) {
        swallowed_ = m;
        swallowed_->mutable_stream()->clear_key_shares();
      }
      return false;
    }
    if (tamper_for_ != replica) return true;
    std::string* ws = m.mutable_stream()->mutable_write_sets(0);
    auto decoded = replication::decode_write_set(as_bytes(*ws));
    if (!decoded || ws->size() < 40) return true;
    (*ws)[ws->size() - 33] ^= 0x01;  // the last byte of its operations; the hash stays
    tampered_seq_ = decoded->header.seq;
    tamper_for_.clear();
    std::string out = m.SerializeAsString();
    bytes.assign(out.begin(), out.end());
    return true;
  }
  void record(const std::string& replica, bool from_replica, ByteView bytes) {
    Seen s{replica, from_replica, {}};
    if (!s.message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
    if (s.message.has_stream()) {
      // Heartbeats are many and say nothing here; keep streams only with their seqs.
      if (s.message.stream().write_sets_size() == 0) return;
      s.message.mutable_stream()->clear_key_shares();
    }
    std::lock_guard lock(mu_);
    seen_.push_back(std::move(s));
  }

  std::string node_;
  std::string upstream_;
  std::optional<crypto::IdentityKey> node_key_;
  std::map<std::string, crypto::IdentityKey> member_keys_;
  std::optional<wire::Context> context_;
  std::optional<wire::ZapHandler> zap_;
  std::optional<wire::ServerChannel> server_;
  std::map<std::string, std::optional<wire::ClientChannel>> upstreams_;
  std::map<std::string, wire::RoutingId> routes_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> injected_sent_{0};
  std::mutex mu_;  // guards what follows
  std::string tamper_for_;
  uint64_t tampered_seq_ = 0;
  std::vector<std::pair<std::string, v1::ReplicationMessage>> injections_;
  bool swallowing_ = false;
  std::optional<v1::ReplicationMessage> swallowed_;
  std::vector<Seen> seen_;
  std::thread thread_;
};

std::string tail(const std::string& s, size_t n = 3000) {
  return s.substr(s.size() > n ? s.size() - n : 0);
}

size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

int node_index(const ClusterPlatform& p, const Node* n) { return int(n - &p.nodes[0]); }

TEST_CASE(
    "a replica refuses an altered write set and an old term's, applies nothing of them, "
    "and goes on") {
  int relay_port[3];
  ClusterOptions o;
  for (int i = 0; i < 3; ++i) {
    relay_port[i] = free_port();
    o.node_extra_cluster.push_back(
        "advertise_replication = \"tcp://127.0.0.1:" + std::to_string(relay_port[i]) + "\"");
  }
  ClusterPlatform p(o);
  std::map<std::string, std::string> key_files;
  for (const Node& n : p.nodes) key_files[n.id] = p.dir.file(n.id + ".key");
  std::vector<std::unique_ptr<KeyRelay>> relays;
  for (int i = 0; i < 3; ++i) {
    const Node& n = p.nodes[i];
    relays.push_back(std::make_unique<KeyRelay>(n.id, relay_port[i],
                                                field(read_text(n.config), "replication_endpoint"),
                                                key_files.at(n.id), key_files));
  }
  std::vector<Node*> all = {&p.nodes[0], &p.nodes[1], &p.nodes[2]};
  Node* leader = nullptr;
  REQUIRE(wait_until([&] { return (leader = p.agreed_leader(all)) != nullptr; }));
  std::vector<Node*> replicas;
  for (Node* n : all)
    if (n != leader) replicas.push_back(n);
  KeyRelay& relay = *relays[node_index(p, leader)];
  p.write_agent_config({leader, replicas[0], replicas[1]});
  auto agent = std::make_unique<ChildProcess>(
      std::vector<std::string>{kBin + "gongshu-agent", "run", "--config", p.agent_config},
      p.agent_config + ".log");
  p.submit(0, 200);
  REQUIRE(wait_until([&] { return p.acknowledged() >= 200; }, 20s));
  {  // write sets went through the relay: the replicas use it
    bool through = false;
    for (const Seen& s : relay.seen()) through = through || s.message.has_stream();
    REQUIRE(through);
  }

  // (a) One byte of the next write set to one replica altered in flight.
  Node* victim = replicas[0];
  const size_t before = relay.seen().size();
  relay.tamper_next(victim->id);
  p.submit(200, 200);
  REQUIRE(wait_until([&] { return relay.tampered_seq() != 0; }, 10s));
  const uint64_t bad = relay.tampered_seq();
  REQUIRE(wait_until(
      [&] { return p.log(*victim).find("GONGSHU_EVENT=replica_refused") != std::string::npos; },
      10s));
  {
    INFO("victim's log: " << tail(p.log(*victim)));
    // The journal's structured fields, not its (translated) words: an altered write set, this one.
    CHECK(p.log(*victim).find("GONGSHU_REFUSAL_KIND=altered") != std::string::npos);
    CHECK(p.log(*victim).find("GONGSHU_REFUSED_SEQ=" + std::to_string(bad) + " ") !=
          std::string::npos);
  }
  // Its first word about that seq after the tampering: the refusal, never an ack of it.
  {
    auto seen = relay.seen();
    bool answered = false;
    for (size_t i = before; i < seen.size() && !answered; ++i) {
      const Seen& s = seen[i];
      if (s.replica != victim->id || !s.from_replica) continue;
      if (s.message.has_ack() && s.message.ack().applied_seq() >= bad) {
        FAIL("the replica acknowledged write set " << bad << " before refusing it");
      }
      if (s.message.has_refusal()) {
        CHECK(s.message.refusal().seq() == bad);
        answered = true;
      }
    }
    CHECK(answered);
  }
  // It asks again and the genuine write set applies: everything acknowledged, equal roots.
  REQUIRE(wait_until([&] { return p.acknowledged() >= 400; }, 20s));
  {
    bool same = p.converged(*leader, all);
    INFO(p.last_error);
    REQUIRE(same);
  }
  CHECK(p.records(*victim) == p.records(*leader));
  CHECK(p.records(*victim) == 400);

  // (b) The leader commits write sets no replica receives (the relay swallows them: an unshipped
  // tail, so nothing of it is acknowledged), is deposed (SIGSTOP until another node wins a term)
  // and resumes (SIGCONT).
  const int64_t old_term = p.status(*leader)["term"].get<int64_t>();
  relay.swallow();
  p.submit(400, 100);
  REQUIRE(wait_until([&] { return relay.swallowed().has_value(); }, 10s));
  const v1::ReplicationMessage old_stream = *relay.swallowed();
  REQUIRE(old_stream.stream().term() == old_term);
  uint64_t old_seq = 0;
  {
    auto ws = replication::decode_write_set(as_bytes(old_stream.stream().write_sets(0)));
    REQUIRE(ws);
    old_seq = ws->header.seq;
  }
  leader->process->signal(SIGSTOP);
  Node* next = nullptr;
  REQUIRE(wait_until([&] { return (next = p.agreed_leader(replicas)) != nullptr; }, 15s));
  const int64_t new_term = p.status(*next)["term"].get<int64_t>();
  REQUIRE(new_term > old_term);
  leader->process->signal(SIGCONT);
  Node* follower = replicas[0] == next ? replicas[1] : replicas[0];
  KeyRelay& next_relay = *relays[node_index(p, next)];
  // The follower streams from the new leader through its relay (a route to inject on).
  REQUIRE(wait_until([&] {
    for (const Seen& s : next_relay.seen())
      if (s.replica == follower->id && s.from_replica) return true;
    return false;
  }));
  const size_t refusals_before = count_of(p.log(*follower), "GONGSHU_EVENT=replica_refused");

  // As the deposed leader sent it (naming itself).
  const size_t seen0 = next_relay.seen().size();
  const size_t sent0 = next_relay.injected_sent();
  next_relay.inject(follower->id, old_stream);
  REQUIRE(wait_until([&] { return next_relay.injected_sent() > sent0; }));
  REQUIRE(wait_until([&] {
    return p.log(*follower).find("GONGSHU_REFUSAL_KIND=other-leader") != std::string::npos;
  }));
  // Relabelled as the new leader's, still under the old term — once the follower has said hello
  // again after that refusal (what arrives in its pause is dropped unread).
  REQUIRE(wait_until([&] {
    bool refused = false;
    auto seen = next_relay.seen();
    for (size_t i = seen0; i < seen.size(); ++i) {
      const Seen& s = seen[i];
      if (s.replica != follower->id || !s.from_replica) continue;
      if (s.message.has_refusal()) refused = true;
      if (refused && s.message.has_hello()) return true;
    }
    return false;
  }));
  const size_t seen1 = next_relay.seen().size();
  v1::ReplicationMessage relabelled = old_stream;
  relabelled.mutable_stream()->set_leader(next->id);
  relabelled.mutable_stream()->set_head_seq(0);
  next_relay.inject(follower->id, relabelled);
  REQUIRE(wait_until(
      [&] { return p.log(*follower).find("GONGSHU_REFUSAL_KIND=deposed") != std::string::npos; },
      10s));
  {
    const std::string log = p.log(*follower);
    INFO("follower's log: " << tail(log));
    CHECK(count_of(log, "GONGSHU_EVENT=replica_refused") >= refusals_before + 2);
    CHECK(log.find("GONGSHU_REFUSED_SEQ=" + std::to_string(old_seq) + " ") != std::string::npos);
    // What it told the new leader: the refusal of that very write set, no ack of it.
    auto seen = next_relay.seen();
    bool refused = false;
    for (size_t i = seen1; i < seen.size(); ++i) {
      const Seen& m = seen[i];
      if (m.replica != follower->id || !m.from_replica) continue;
      if (m.message.has_refusal() && m.message.refusal().seq() == old_seq) refused = true;
      if (m.message.has_ack()) CHECK(m.message.ack().term() == new_term);
    }
    CHECK(refused);
  }
  // Nothing of them applied: had the follower taken the old term's write set, its chain would
  // differ from the new leader's (which wrote its own write set at that seq) and it could not
  // converge without a re-seed (none is configured). The agent's swallowed batch, re-sent to the
  // new leader, and 300 more records are acknowledged and stored once on both.
  p.submit(500, 300);
  REQUIRE(wait_until([&] { return p.acknowledged() >= 800; }, 20s));
  {
    bool same = p.converged(*next, {next, follower});
    INFO(p.last_error);
    REQUIRE(same);
  }
  CHECK(p.records(*follower) == p.records(*next));
  CHECK(p.records(*follower) == 800);
  p.verify_audit(*next, "audit-next.gsa");
  agent->signal(SIGTERM);
  agent->wait();
}

}  // namespace
}  // namespace gongshu::testing
