// RecordView (core/catalog/record_view.h) against protobuf, on any bytes: what read() accepts
// protobuf parses to the same record; parse() accepts exactly what protobuf accepts, with the
// same content; whatever protobuf writes reads in place; and validation gives the same verdict
// on the view as on the parsed message (the daemon validates views, the agent messages).
#include <google/protobuf/arena.h>

#include "core/catalog/record_view.h"
#include "core/catalog/validate.h"
#include "core/util/utf8.h"
#include "fuzz/fuzz_support.h"

using namespace gongshu;

namespace {

bool same_verdict(const catalog::Verdict& a, const catalog::Verdict& b) {
  return a.code == b.code && a.field == b.field && a.reason == b.reason && a.subject == b.subject;
}

// Text protobuf accepts but RecordView leaves to it (surrogates, for one) is not RFC 3629.
bool all_rfc3629(const v1::Record& r) {
  bool ok = is_utf8(r.dataset()) && is_utf8(r.record_key()) && is_utf8(r.subject_id()) &&
            is_utf8(r.invalidate_reason());
  for (const auto& f : r.fields()) {
    ok = ok && is_utf8(f.name()) && (!f.value().has_text() || is_utf8(f.value().text()));
  }
  return ok;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes = fuzz::text(data, size);
  v1::Record parsed;
  const bool protobuf_reads = parsed.ParseFromArray(data, static_cast<int>(size));

  catalog::RecordView view;
  if (catalog::RecordView::read(bytes, view)) {
    GONGSHU_FUZZ_CHECK(protobuf_reads, "read in place, refused by protobuf");
    GONGSHU_FUZZ_CHECK(view == catalog::RecordView::of(parsed), "read in place differently");
  }

  google::protobuf::Arena arena;
  catalog::RecordView any;
  const bool parses = catalog::RecordView::parse(bytes, arena, any);
  GONGSHU_FUZZ_CHECK(parses == protobuf_reads, "parse() and protobuf disagree on acceptance");
  if (!parses) return 0;
  GONGSHU_FUZZ_CHECK(any == catalog::RecordView::of(parsed), "parse() differs from protobuf");

  // protobuf's own encoding of what it read, less unknown fields, is canonical: it must read in
  // place, as long as it holds only what RecordView reads itself (RFC 3629 text, an op that is
  // not negative; the rest it leaves to protobuf by design).
  v1::Record known = parsed;
  known.DiscardUnknownFields();
  if (all_rfc3629(known) && known.op() >= 0) {
    const std::string canonical = known.SerializeAsString();
    catalog::RecordView again;
    GONGSHU_FUZZ_CHECK(catalog::RecordView::read(canonical, again),
                       "protobuf's encoding declined in place");
    GONGSHU_FUZZ_CHECK(again == catalog::RecordView::of(known),
                       "protobuf's encoding read differently");
  }

  GONGSHU_FUZZ_CHECK(same_verdict(catalog::validate_record(fuzz::schema(), any, fuzz::clock()),
                                  catalog::validate_record(fuzz::schema(), parsed, fuzz::clock())),
                     "validation of the view and of the message disagree");
  return 0;
}
