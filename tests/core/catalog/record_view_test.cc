// RecordView::read against protobuf: every encoding protobuf writes reads in place as protobuf
// reads it, and any encoding read in place — including mutated and hostile ones — is one
// protobuf reads to the same record. What it declines goes to protobuf, so it may decline more.
#include "core/catalog/record_view.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <limits>
#include <random>

#include "tests/support/test_support.h"

namespace gongshu::catalog {
namespace {

std::string random_text(std::mt19937_64& rng, size_t max) {
  static const char* const kPieces[] = {"a", "Z", "0", " ", "数", "据", "𠀀", "\n", "x"};
  std::string s;
  for (size_t n = rng() % (max + 1); s.size() < n;) s += kPieces[rng() % 9];
  return s;
}

v1::Record random_record(std::mt19937_64& rng) {
  v1::Record r;
  if (rng() % 8) r.set_dataset(random_text(rng, 30));
  if (rng() % 8) r.set_record_key(random_text(rng, 20));
  if (rng() % 3 == 0) r.set_op(static_cast<v1::RecordOp>(rng() % 3));
  if (rng() % 2) r.set_subject_id(random_text(rng, 18));
  if (rng() % 2) r.set_observed_at_ms(static_cast<int64_t>(rng()));
  if (rng() % 4 == 0) r.set_invalidate_reason(random_text(rng, 40));
  for (int i = 0, n = int(rng() % 6); i < n; ++i) {
    auto* f = r.add_fields();
    if (rng() % 8) f->set_name(random_text(rng, 12));
    if (rng() % 8 == 0) continue;  // no value at all
    auto* v = f->mutable_value();
    switch (rng() % 8) {
      case 0:
        v->set_text(random_text(rng, 300));
        break;
      case 1:
        v->set_integer(static_cast<int64_t>(rng()));
        break;
      case 2:
        v->set_real(std::ldexp(double(rng() % 100000) - 50000, int(rng() % 40) - 20));
        break;
      case 3:
        v->set_boolean(rng() % 2);
        break;
      case 4:
        v->set_blob(std::string(rng() % 40, char(rng())));
        break;
      case 5:
        v->set_date_days(static_cast<int32_t>(rng()));
        break;
      case 6:
        v->set_timestamp_ms(static_cast<int64_t>(rng()));
        break;
      default:
        break;  // an empty value: no member of the oneof set
    }
  }
  return r;
}

// Reads `bytes` both ways; whenever the view reads it, protobuf must read the same record.
// Returns whether the view read it.
bool agrees(const std::string& bytes) {
  RecordView view;
  const bool read = RecordView::read(bytes, view);
  if (!read) return false;
  v1::Record parsed;
  INFO("bytes read in place but refused by protobuf: " << bytes.size() << " bytes");
  REQUIRE(parsed.ParseFromString(bytes));
  CHECK(view == RecordView::of(parsed));
  return true;
}

TEST_CASE("every record protobuf writes reads in place as protobuf reads it") {
  std::mt19937_64 rng(1127);
  for (int i = 0; i < 3000; ++i) {
    v1::Record r = random_record(rng);
    const std::string bytes = r.SerializeAsString();
    RecordView view;
    REQUIRE(RecordView::read(bytes, view));
    CHECK(view == RecordView::of(r));
  }
}

TEST_CASE("mutated encodings are read as protobuf reads them, or declined") {
  std::mt19937_64 rng(2026);
  int read = 0, declined = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = random_record(rng).SerializeAsString();
    // Flips, inserts, deletions, repeated slices (duplicate fields).
    bytes = gongshu::testing::mutate(std::move(bytes), rng, 24);
    (agrees(bytes) ? read : declined)++;
  }
  // Both outcomes must really occur, or the test shows nothing.
  CHECK(read > 1000);
  CHECK(declined > 1000);
  // Random garbage too.
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(rng() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    agrees(bytes);
  }
}

TEST_CASE("what protobuf would resolve or refuse is declined, to be parsed by protobuf") {
  v1::Record r;
  r.set_dataset("population.household");
  r.set_record_key("hh-1");
  auto* f = r.add_fields();
  f->set_name("name");
  f->mutable_value()->set_text("张三");
  const std::string good = r.SerializeAsString();
  RecordView view;
  REQUIRE(RecordView::read(good, view));

  // A singular field twice: protobuf keeps the last one.
  v1::Record other;
  other.set_dataset("other.dataset");
  CHECK_FALSE(RecordView::read(good + other.SerializeAsString(), view));
  // A field given once more in the repeated list is fine: it is a second field.
  v1::Record more;
  *more.add_fields() = r.fields(0);
  REQUIRE(RecordView::read(good + more.SerializeAsString(), view));
  CHECK(view.fields().size() == 2);
  // Two members of the value oneof: protobuf keeps the last.
  v1::FieldValue two;
  two.set_text("a");
  std::string two_members = two.SerializeAsString();
  two.set_integer(5);
  two_members += two.SerializeAsString();
  v1::Field raw_field;
  raw_field.set_name("name");
  std::string field_bytes = raw_field.SerializeAsString() + std::string("\x12", 1) +
                            char(two_members.size()) + two_members;
  std::string rec = std::string("\x22", 1) + char(field_bytes.size()) + field_bytes;
  CHECK_FALSE(RecordView::read(rec, view));
  v1::Record parsed;
  REQUIRE(parsed.ParseFromString(rec));  // protobuf reads it: integer 5 wins
  CHECK(parsed.fields(0).value().integer() == 5);
  // An unknown field.
  CHECK_FALSE(RecordView::read(good + std::string("\x40\x01", 2), view));
  // Text at the edges of UTF-8: a four-byte character reads; a surrogate, overlong forms and
  // code points past U+10FFFF are declined (protobuf refuses them too, or parses them itself).
  for (const std::string text : {"\xF0\xA0\x80\x80", "\xED\xA0\x80", "\xC0\xAF", "\xE0\x80\xAF",
                                 "\xF4\x90\x80\x80", "\xF8\x88\x80\x80\x80"}) {
    v1::Record t;
    t.set_record_key("ok");
    const std::string enc = t.SerializeAsString() + "\x0a" + char(text.size()) + text;
    CHECK(agrees(enc) == (text == "\xF0\xA0\x80\x80"));
  }
  // Text that is not UTF-8: protobuf refuses it.
  std::string bad_text = std::string("\x0a\x02\xc3\x28", 4);
  CHECK_FALSE(RecordView::read(bad_text, view));
  CHECK_FALSE(parsed.ParseFromString(bad_text));
  // A boolean encoded as 2: protobuf reads true; declined here.
  std::string value = std::string("\x20\x02", 2);
  field_bytes = std::string("\x12", 1) + char(value.size()) + value;
  rec = std::string("\x22", 1) + char(field_bytes.size()) + field_bytes;
  CHECK_FALSE(RecordView::read(rec, view));
  // A wrong wire type for a known field.
  CHECK_FALSE(RecordView::read(std::string("\x08\x01", 2), view));
  // Truncated.
  CHECK_FALSE(RecordView::read(good.substr(0, good.size() - 1), view));
  // Empty: the default record.
  REQUIRE(RecordView::read("", view));
  CHECK(view == RecordView::of(v1::Record()));
}

}  // namespace
}  // namespace gongshu::catalog
