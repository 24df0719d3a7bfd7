#include "agent/cluster_follow.h"

#include <algorithm>
#include <optional>

#include "core/wire/client_channel.h"
#include "core/wire/codec.h"

namespace gongshu::agent {

bool is_not_leader(const v1::BatchAck& ack) {
  return ack.error() == v1::BATCH_INTERNAL &&
         (!ack.leader_ingest().empty() ||
          ack.error_message().rfind("not leader", 0) == 0);  // i18n-exempt: protocol
}

std::string next_ingest_node(const std::vector<std::string>& nodes, const std::string& current) {
  if (nodes.empty()) return {};
  auto it = std::find(nodes.begin(), nodes.end(), current);
  if (it == nodes.end() || ++it == nodes.end()) return nodes.front();
  return *it;
}

std::string leader_redirect(const std::vector<std::string>& nodes, const std::string& current,
                            const v1::BatchAck& ack) {
  if (!is_not_leader(ack)) return {};
  std::string to =
      ack.leader_ingest().empty() ? next_ingest_node(nodes, current) : ack.leader_ingest();
  return to == current ? std::string() : to;
}

namespace {
using SteadyClock = std::chrono::steady_clock;
constexpr size_t kMaxProbeAckBytes = 16 << 20;
// The probe's connections retry this often; when each node is sent the batch again is
// ProbePacer's (100 ms while an election is under way: the new leader takes the probe within
// that much of its win).
constexpr std::chrono::milliseconds kProbeResend = ProbePacer::kBaseInterval;
constexpr std::chrono::milliseconds kProbeTick{10};
}  // namespace

void ProbePacer::reset() {
  for (auto& [name, n] : nodes_) n.interval = kBaseInterval;
}

const ProbePacer::Node* ProbePacer::find(const std::string& node) const {
  for (const auto& [name, n] : nodes_)
    if (name == node) return &n;
  return nullptr;
}

ProbePacer::Node& ProbePacer::at(const std::string& node) {
  for (auto& [name, n] : nodes_)
    if (name == node) return n;
  return nodes_.emplace_back(node, Node{}).second;
}

std::string ProbePacer::pick(const std::vector<std::string>& ready, TimePoint now) const {
  if (any_sent_ && now - last_send_ < kMinGap) return {};
  const std::string* best = nullptr;
  std::optional<TimePoint> best_at;  // nullopt: never asked (before anyone asked)
  for (const auto& node : ready) {
    const Node* n = find(node);
    if (!n || !n->ever_sent) return node;
    if (now - n->sent_at < n->interval) continue;
    if (!best || n->sent_at < *best_at) {
      best = &node;
      best_at = n->sent_at;
    }
  }
  return best ? *best : std::string();
}

void ProbePacer::sent(const std::string& node, TimePoint now) {
  Node& n = at(node);
  n.sent_at = now;
  n.ever_sent = true;
  last_send_ = now;
  any_sent_ = true;
}

void ProbePacer::not_leader(const std::string& node, const std::string& named,
                            const std::string& current, bool current_up, TimePoint /*now*/) {
  if (!named.empty() && named != current && named != node) {
    reset();  // leadership moved: everyone is worth asking at once again
    return;
  }
  Node& n = at(node);
  if (current_up && named == current)
    n.interval = std::min<std::chrono::milliseconds>(n.interval * 2, kMaxInterval);
  else
    n.interval = kBaseInterval;
}

std::chrono::milliseconds ProbePacer::interval(const std::string& node) const {
  const Node* n = find(node);
  return n ? n->interval : kBaseInterval;
}

LeaderFinder::LeaderFinder(wire::Context& context, const crypto::IdentityKey& agent,
                           std::chrono::milliseconds after)
    : context_(context), agent_(agent), after_(after) {}

LeaderFinder::~LeaderFinder() { stop(); }

void LeaderFinder::stop() {
  if (!probe_.joinable()) return;
  stop_ = true;
  probe_.join();
  stop_ = false;
  std::lock_guard<std::mutex> g(mu_);
  found_.clear();
}

std::string LeaderFinder::step(SteadyClock::time_point now, const std::vector<std::string>& nodes,
                               const std::string& current, const crypto::PublicKey& daemon,
                               Spool& spool, uint64_t acked, bool waiting, bool current_up) {
  if (after_.count() == 0 || nodes.size() < 2) return {};
  current_up_ = current_up;
  if (current != current_) {
    // Another node (the forwarder moved): what followers said of the old one is stale, and a
    // probe running beside it leaves the new one out and asks the old one.
    stop();
    current_ = current;
    std::lock_guard<std::mutex> g(mu_);
    pacer_.reset();
  } else if (!current_up) {
    std::lock_guard<std::mutex> g(mu_);
    pacer_.reset();  // its connection or handshake is down: ask every node at the base rate
  }
  if (acked != last_acked_ || !waiting || progress_at_ == SteadyClock::time_point{}) {
    // Served (or nothing to serve): the current node is fine.
    last_acked_ = acked;
    progress_at_ = now;
    stop();
    return {};
  }
  if (now - progress_at_ < after_) return {};
  if (probe_.joinable()) {
    std::string found;
    {
      std::lock_guard<std::mutex> g(mu_);
      found = found_;
    }
    if (found.empty()) return {};
    stop();
    // The node found gets a whole `after` to deliver before the next probe.
    progress_at_ = now;
    return found == current ? std::string() : found;
  }
  // The lowest unacknowledged batch, as committed: the probe sends it byte for byte.
  Bytes message;
  {
    auto txn = spool.env().begin_read();
    if (!txn) return {};
    store::Cursor cur = spool.outbox().cursor(*txn);
    auto e = cur.first();
    if (e) {
      auto entry = decode_outbox(e->value);
      if (entry) message.assign(entry->message.begin(), entry->message.end());
    }
  }
  if (message.empty()) {
    progress_at_ = now;  // nothing to deliver
    return {};
  }
  std::vector<std::string> others;
  for (const auto& n : nodes)
    if (n != current) others.push_back(n);
  probe_ = std::thread(
      [this, others = std::move(others), current, daemon, m = std::move(message)]() mutable {
        run(std::move(others), std::move(current), std::move(daemon), std::move(m));
      });
  return {};
}

void LeaderFinder::run(std::vector<std::string> nodes, std::string current,
                       crypto::PublicKey daemon, Bytes message) {
  struct Probe {
    std::string node;
    std::optional<wire::ClientChannel> channel;
  };
  std::vector<Probe> probes;
  for (auto& n : nodes) {
    wire::ClientOptions o;
    o.max_message_size = kMaxProbeAckBytes;
    o.reconnect_interval = kProbeResend;
    auto ch = wire::ClientChannel::create(context_, agent_, daemon, o);
    if (!ch || !ch->connect(n)) continue;
    probes.push_back(Probe{std::move(n), std::move(*ch)});
  }
  while (!stop_) {
    // Sent only once the handshake is up, so nothing queues for a node that is down.
    std::vector<std::string> ready;
    for (auto& p : probes)
      if (p.channel->handshake_state() == wire::HandshakeState::kConnected) ready.push_back(p.node);
    {
      const auto now = SteadyClock::now();
      std::lock_guard<std::mutex> g(mu_);
      std::string to = pacer_.pick(ready, now);
      for (auto& p : probes)
        if (!to.empty() && p.node == to && p.channel->send(message)) pacer_.sent(p.node, now);
    }
    for (auto& p : probes) {
      for (;;) {
        auto got = p.channel->receive(std::chrono::milliseconds(0));
        if (!got || !*got) break;
        auto ack = wire::decode_as<v1::BatchAck>(**got, kMaxProbeAckBytes);
        if (!ack) continue;
        std::lock_guard<std::mutex> g(mu_);
        if (is_not_leader(*ack)) {
          pacer_.not_leader(p.node, ack->leader_ingest(), current, current_up_, SteadyClock::now());
          continue;
        }
        // It took the batch: it leads (its gate let it write).
        found_ = p.node;
        return;
      }
    }
    std::this_thread::sleep_for(kProbeTick);
  }
}

}  // namespace gongshu::agent
