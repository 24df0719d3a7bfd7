#include "agent/cluster_follow.h"

#include <algorithm>

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

}  // namespace gongshu::agent
