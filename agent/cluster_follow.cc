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
// A node that answers "not leader" (an election under way) is asked again this often: the
// new leader takes the probe within this much of its win.
constexpr std::chrono::milliseconds kProbeResend{100};
constexpr std::chrono::milliseconds kProbeTick{10};
}  // namespace

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
                               Spool& spool, uint64_t acked, bool waiting) {
  if (after_.count() == 0 || nodes.size() < 2) return {};
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
  probe_ =
      std::thread([this, others = std::move(others), daemon, m = std::move(message)]() mutable {
        run(std::move(others), std::move(daemon), std::move(m));
      });
  return {};
}

void LeaderFinder::run(std::vector<std::string> nodes, crypto::PublicKey daemon, Bytes message) {
  struct Probe {
    std::string node;
    std::optional<wire::ClientChannel> channel;
    SteadyClock::time_point send_at{};
  };
  std::vector<Probe> probes;
  for (auto& n : nodes) {
    wire::ClientOptions o;
    o.max_message_size = kMaxProbeAckBytes;
    o.reconnect_interval = kProbeResend;
    auto ch = wire::ClientChannel::create(context_, agent_, daemon, o);
    if (!ch || !ch->connect(n)) continue;
    probes.push_back(Probe{std::move(n), std::move(*ch), {}});
  }
  while (!stop_) {
    const auto now = SteadyClock::now();
    for (auto& p : probes) {
      // Sent only once the handshake is up, so nothing queues for a node that is down.
      if (now >= p.send_at && p.channel->handshake_state() == wire::HandshakeState::kConnected) {
        if (p.channel->send(message)) p.send_at = now + kProbeResend;
      }
      for (;;) {
        auto got = p.channel->receive(std::chrono::milliseconds(0));
        if (!got || !*got) break;
        auto ack = wire::decode_as<v1::BatchAck>(**got, kMaxProbeAckBytes);
        if (!ack || is_not_leader(*ack)) continue;
        // It took the batch: it leads (its gate let it write).
        std::lock_guard<std::mutex> g(mu_);
        found_ = p.node;
        return;
      }
    }
    std::this_thread::sleep_for(kProbeTick);
  }
}

}  // namespace gongshu::agent
