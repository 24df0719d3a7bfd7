// A replica in its own process, for the crash test: opens the store in argv[1], follows the
// primary at argv[2] (node key hex argv[3], node id argv[5]) as node argv[4] with the node key of
// test_key(argv[6]), and runs until killed, or exits 2 naming why the applier stopped.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "core/replication/applier.h"
#include "tests/core/replication/replication_node.h"

using namespace gongshu;
using namespace gongshu::replication;

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: replica DIR ENDPOINT PRIMARY_KEY_HEX NODE PRIMARY_NODE SEED\n");
    return 1;
  }
  testing::Node node(argv[1]);
  auto key = testing::test_key(static_cast<uint8_t>(std::stoi(argv[6])));
  ApplierOptions o;
  o.node = argv[4];
  o.primary_node = argv[5];
  o.primary_endpoint = argv[2];
  o.primary_key = *crypto::PublicKey::from_hex(argv[3]);
  o.hello_interval = std::chrono::milliseconds(200);
  auto applier = Applier::start(*node.env, *node.changelog, key, o);
  if (!applier) {
    std::fprintf(stderr, "%s\n", applier.error().message().c_str());
    return 1;
  }
  while ((*applier)->state() == ApplierState::kFollowing)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::fprintf(stderr, "applier stopped: %s\n", (*applier)->reason().c_str());
  return 2;
}
