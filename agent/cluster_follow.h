// Following the leader of a gongshud cluster (docs/replication.md §6). The nodes of one cluster
// share the daemon identity (one daemon public key, one CURVE key the agent pins); the agent's
// configuration lists every node's ingest endpoint ([daemon] cluster_ingest). A node that does
// not lead answers each batch BATCH_INTERNAL "not leader; leader is <endpoint>" with
// BatchAck.leader_ingest; the forwarder then moves to that endpoint and sends every
// unacknowledged batch again there, which the daemon deduplicates by (agent key, batch_seq) as
// for any re-send. With no leader named (an election under way), a lost connection or an overdue
// ack, it moves to the next endpoint of the list.
#pragma once

#include <string>
#include <vector>

#include "gongshu/v1/batch.pb.h"

namespace gongshu::agent {

// ack is a "not leader" answer (cluster_gate.h's text, or a leader_ingest named).
bool is_not_leader(const v1::BatchAck& ack);

// The endpoint after `current` in nodes (wrapping; the first when current is not listed);
// empty when nodes is empty.
std::string next_ingest_node(const std::vector<std::string>& nodes, const std::string& current);

// Where a "not leader" answer sends the agent: the leader it names, else the next node; empty
// when ack is no such answer or there is nowhere else to go.
std::string leader_redirect(const std::vector<std::string>& nodes, const std::string& current,
                            const v1::BatchAck& ack);

}  // namespace gongshu::agent
