// A write set as a replica receives it from the replication channel (core/replication/
// write_set_codec.h): untrusted bytes. decode_write_set must refuse or accept without crashing,
// and whatever it accepts must be exactly what encode_write_set makes of the decoded parts (one
// encoding per write set: the hash chain is over these bytes), with every op naming a table and
// carrying a key within LMDB's limit.
#include <cstdint>
#include <cstdlib>

#include "core/replication/write_set_codec.h"

using namespace gongshu;
using namespace gongshu::replication;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView in(data, size);
  auto ws = decode_write_set(in);
  if (!ws) return 0;
  for (const DecodedOp& op : ws->ops) {
    if (op.table >= ws->tables.size()) std::abort();
    if (op.kind != store::WriteOpKind::kClear && (op.key.empty() || op.key.size() > kMaxKey))
      std::abort();
  }
  auto again = encode_write_set(ws->header, ws->tables, ws->op_bytes, ws->ops.size());
  if (!again || !bytes_equal(*again, in)) std::abort();
  return 0;
}
