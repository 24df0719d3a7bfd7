#include <fcntl.h>
#include <unistd.h>

#include <random>

#include <catch2/catch.hpp>

#include "agent/record_reader.h"
#include "agent/values.h"
#include "tests/agent/agent_test_util.h"
#include "tests/support/test_support.h"

using namespace gongshu;
using namespace gongshu::agent;
using gongshu::agent::testing::must;
using gongshu::testing::TempDir;
using gongshu::testing::write_text;

namespace {

std::vector<ParsedRow> read_all(InputFormat format, const std::string& text,
                                ReaderLimits limits = {}, bool header_may_fail = false,
                                EncodingChoice encoding = EncodingChoice::kAuto) {
  static const catalog::DatasetSchema schema(agent::testing::test_dataset());
  TempDir dir;
  write_text(dir.file("in"), text);
  auto made = make_reader(format, must(InputFile::open(dir.file("in"), encoding)), schema, limits);
  if (!made && header_may_fail) return {};
  auto reader = must(std::move(made));
  std::vector<ParsedRow> rows;
  ParsedRow row;
  while (must(reader->next(row))) rows.push_back(row);
  return rows;
}

const v1::FieldValue* field(const v1::Record& r, const std::string& name) {
  for (const auto& f : r.fields()) {
    if (f.name() == name) return &f.value();
  }
  return nullptr;
}

}  // namespace

TEST_CASE("values: dates, timestamps, numbers", "[agent][values]") {
  CHECK(*parse_date_days("1970-01-02") == 1);
  CHECK_FALSE(parse_date_days("2023-02-29"));
  CHECK(*parse_timestamp_ms("1970-01-01T00:00:01Z") == 1000);
  CHECK(*parse_timestamp_ms("1970-01-01T08:00:01.5+08:00") == 1500);
  CHECK(*parse_timestamp_ms("1714523400000") == 1714523400000);
  CHECK_FALSE(parse_timestamp_ms("2024-05-01T08:30:00"));  // no zone
  CHECK(format_timestamp_ms(1500) == "1970-01-01T00:00:01.500Z");
  CHECK(format_date_days(1) == "1970-01-02");
  v1::FieldValue v;
  CHECK(value_from_text(v1::FIELD_TYPE_INTEGER, "-42", v));
  CHECK(v.integer() == -42);
  CHECK_FALSE(value_from_text(v1::FIELD_TYPE_INTEGER, "4x", v));
  CHECK_FALSE(value_from_text(v1::FIELD_TYPE_REAL, "nan", v));
  CHECK(value_from_text(v1::FIELD_TYPE_BLOB, "aGk=", v));
  CHECK(v.blob() == "hi");
}

TEST_CASE("jsonl: nested and flat forms, typed values", "[agent][reader]") {
  auto rows = read_all(
      InputFormat::kJsonLines,
      "\xEF\xBB\xBF" + agent::testing::jsonl_record(1) + "\n\n" +
          R"({"record_key":7,"subject_id":"x","name":"李四","age":"31","op":"upsert","observed_at":1000})" +
          "\r\n" + R"({"record_key":"k","op":"invalidate","invalidate_reason":"wrong"})");
  REQUIRE(rows.size() == 3);
  REQUIRE(rows[0].ok);
  CHECK(rows[0].line == 1);
  CHECK(rows[0].record.dataset() == agent::testing::kDataset);
  CHECK(rows[0].record.record_key() == "r000001");
  CHECK(field(rows[0].record, "age")->integer() == 21);
  CHECK(field(rows[0].record, "active")->boolean());
  CHECK(field(rows[0].record, "born")->date_days() == *parse_date_days("1990-01-01"));
  CHECK(field(rows[0].record, "seen")->timestamp_ms() ==
        *parse_timestamp_ms("2024-05-01T00:30:00Z"));
  REQUIRE(rows[1].ok);
  CHECK(rows[1].line == 3);
  CHECK(rows[1].record.record_key() == "7");
  CHECK(field(rows[1].record, "age")->integer() == 31);
  CHECK(rows[1].record.observed_at_ms() == 1000);
  REQUIRE(rows[2].ok);
  CHECK(rows[2].record.op() == v1::RECORD_OP_INVALIDATE);
  CHECK(rows[2].record.invalidate_reason() == "wrong");
}

TEST_CASE("jsonl: bad lines are rejected alone with their line number", "[agent][reader]") {
  std::string text = agent::testing::jsonl_record(1) + "\n" +                   // 1 ok
                     "{not json\n" +                                            // 2
                     "[1,2]\n" +                                                // 3
                     R"({"record_key":"a","fields":{"age":"old"}})" + "\n" +    // 4
                     R"({"record_key":"a","fields":{"shoe_size":3}})" + "\n" +  // 5
                     R"({"record_key":"a","op":"delete"})" + "\n" +             // 6
                     R"({"record_key":"a","fields":{},"extra":1})" + "\n" +     // 7
                     R"({"record_key":"a","fields":{"age":1.5}})" + "\n" +      // 8
                     std::string(3000, 'z') + "\n" +                            // 9 too long
                     agent::testing::jsonl_record(2);                           // 10 ok
  ReaderLimits limits;
  limits.max_row_bytes = 2048;
  auto rows = read_all(InputFormat::kJsonLines, text, limits);
  REQUIRE(rows.size() == 10);
  CHECK(rows[0].ok);
  CHECK(rows[9].ok);
  CHECK(rows[9].line == 10);
  for (int i = 1; i < 9; ++i) {
    INFO(rows[i].reason);
    CHECK_FALSE(rows[i].ok);
    CHECK(rows[i].line == uint64_t(i + 1));
    CHECK(rows[i].reason.starts_with("line " + std::to_string(i + 1) + ": "));
    CHECK_FALSE(rows[i].raw.empty());
  }
  CHECK(rows[1].code == v1::RECORD_STATUS_MALFORMED);
  CHECK(rows[3].field == "age");
  CHECK(rows[4].field == "shoe_size");
  CHECK(rows[5].field == "op");
  CHECK(rows[8].reason.find("longer than 2048") != std::string::npos);
  CHECK(rows[8].raw.size() <= kMaxRawKept);
}

TEST_CASE("csv: quotes, doubled quotes, CRLF, line breaks in cells", "[agent][reader]") {
  auto rows = read_all(InputFormat::kCsv,
                       "record_key,subject_id,name,age,note,active\r\n"
                       "k1,110105199001010011,\"Zhang, San\",30,\"said \"\"hi\"\"\",true\r\n"
                       "k2,,Li,,\"two\nlines\",0\n"
                       "\n"
                       "k3,,Wang,31,plain,false");
  REQUIRE(rows.size() == 3);
  REQUIRE(rows[0].ok);
  CHECK(rows[0].line == 2);
  CHECK(field(rows[0].record, "name")->text() == "Zhang, San");
  CHECK(field(rows[0].record, "note")->text() == "said \"hi\"");
  CHECK(field(rows[0].record, "active")->boolean());
  REQUIRE(rows[1].ok);
  CHECK(field(rows[1].record, "age") == nullptr);  // empty cell: absent
  CHECK(field(rows[1].record, "note")->text() == "two\nlines");
  CHECK(rows[1].record.subject_id().empty());
  REQUIRE(rows[2].ok);
  CHECK(rows[2].line == 6);
  CHECK_FALSE(field(rows[2].record, "active")->boolean());
}

TEST_CASE("csv: cells across the input's 64 KiB blocks, long rows, quoted line breaks",
          "[agent][reader]") {
  // The reader takes runs of ordinary bytes from the input's buffer at once: cells that span a
  // refill, quoted cells with line breaks and doubled quotes, and rows over the length limit
  // must come out as byte by byte.
  ReaderLimits limits;
  limits.max_row_bytes = 300;
  std::string text = "record_key,name,note\n";
  struct Want {
    bool ok;
    uint64_t line;
    std::string note;
  };
  std::vector<Want> want;
  uint64_t line = 2;
  for (int i = 0; i < 3000; ++i) {
    std::string note(size_t(i % 331), char('a' + i % 26));
    const std::string key = "k" + std::to_string(i);
    std::string row;
    if (i % 3 == 0) {
      row = key + ",n,\"" + note + "\n\"\"" + note + "\"\n";
      note = note + "\n\"" + note;
    } else {
      row = key + ",n," + note + (i % 5 == 0 ? "\r\n" : "\n");
    }
    const size_t bytes = key.size() + 1 + note.size();  // the cells' bytes
    want.push_back({bytes <= limits.max_row_bytes, line, note});
    line += i % 3 == 0 ? 2 : 1;
    text += row;
  }
  REQUIRE(text.size() > 3 * 64 * 1024);
  auto rows = read_all(InputFormat::kCsv, text, limits);
  REQUIRE(rows.size() == want.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    INFO("row " << i << " " << rows[i].reason);
    CHECK(rows[i].line == want[i].line);
    REQUIRE(rows[i].ok == want[i].ok);
    if (want[i].ok) {
      CHECK(rows[i].record.record_key() == "k" + std::to_string(i));
      const v1::FieldValue* note = field(rows[i].record, "note");
      if (want[i].note.empty()) {
        CHECK(note == nullptr);
      } else {
        REQUIRE(note != nullptr);
        CHECK(note->text() == want[i].note);
      }
    } else {
      CHECK(rows[i].reason ==
            "line " + std::to_string(want[i].line) + ": row longer than 300 bytes");
      CHECK(rows[i].raw.starts_with("k" + std::to_string(i) + ",n,"));
    }
  }
}

TEST_CASE("csv: bad rows rejected with their line; bad header refused", "[agent][reader]") {
  auto rows = read_all(InputFormat::kCsv,
                       "record_key,name,age\n"
                       "a,x,1\n"
                       "b,x\n"             // 3: too few cells
                       "c,x,notanumber\n"  // 4
                       "d,x\"y,1\n"        // 5: quote in unquoted cell
                       "e,\"x\"y,1\n"      // 6: text after closing quote
                       "f,x,2\n"           // 7 ok
                       "g,\"unterminated,1\n");
  REQUIRE(rows.size() == 7);
  CHECK(rows[0].ok);
  CHECK(rows[5].ok);
  CHECK(rows[5].line == 7);
  for (int i : {1, 2, 3, 4, 6}) {
    INFO(i << " " << rows[i].reason);
    CHECK_FALSE(rows[i].ok);
  }
  CHECK(rows[1].reason.starts_with("line 3: "));
  CHECK(rows[2].field == "age");
  CHECK(rows[6].reason.find("unterminated") != std::string::npos);

  static const catalog::DatasetSchema schema(agent::testing::test_dataset());
  TempDir dir;
  write_text(dir.file("h.csv"), "record_key,shoe_size\n1,2\n");
  auto r = make_csv_reader(must(InputFile::open(dir.file("h.csv"))), schema);
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("line 1: header: column 'shoe_size'") != std::string::npos);
  write_text(dir.file("d.csv"), "name,name\n");
  CHECK_FALSE(make_csv_reader(must(InputFile::open(dir.file("d.csv"))), schema));
}

TEST_CASE("readers: random garbage never crashes and every row is accounted for",
          "[agent][reader]") {
  std::mt19937 rng(12345);
  const std::string alphabet = "{}[]\",:\\\n\r abc019-+.eE\x00\xff\xe4\xb8\x89tfnul";
  ReaderLimits limits;
  limits.max_row_bytes = 256;
  for (int round = 0; round < 300; ++round) {
    std::string text;
    size_t n = rng() % 2000;
    if (round % 3 == 0) text = "record_key,name,age,note\n";
    if (round % 3 == 1) text = agent::testing::jsonl_record(round) + "\n";
    for (size_t i = 0; i < n; ++i) text.push_back(alphabet[rng() % alphabet.size()]);
    for (auto format : {InputFormat::kJsonLines, InputFormat::kCsv}) {
      auto rows = read_all(format, text, limits, true);
      for (const auto& row : rows) {
        if (!row.ok) {
          CHECK_FALSE(row.reason.empty());
          CHECK(row.raw.size() <= kMaxRawKept);
        }
      }
    }
  }
}

TEST_CASE("csv: cells must be UTF-8 when the file is declared UTF-8", "[agent][reader]") {
  auto rows = read_all(InputFormat::kCsv,
                       "record_key,name\nk1,\xd5\xc5\xc8\xfd\nk2,张三\nk3,\xed\xa0\x80\n", {},
                       false, EncodingChoice::kUtf8);
  REQUIRE(rows.size() == 3);
  CHECK_FALSE(rows[0].ok);  // GBK, not UTF-8
  CHECK(rows[0].field == "name");
  CHECK(rows[0].reason.find("not valid UTF-8 at byte 0") != std::string::npos);
  CHECK(rows[1].ok);
  CHECK_FALSE(rows[2].ok);  // an encoded surrogate
}

TEST_CASE("csv and jsonl in GB18030: decoded per row, an invalid row rejected alone",
          "[agent][reader]") {
  // 张三 and 李四 in GB18030; the third row holds 0x81 0x20, valid in no GB18030 text.
  const std::string csv =
      "record_key,name,born\n"
      "k1,\xD5\xC5\xC8\xFD,2024\xC4\xEA"
      "1\xD4\xC2"
      "2\xC8\xD5\n"  // 2024年1月2日
      "k2,\xC0\xEE\xCB\xC4,2024/1/2\n"
      "k3,\x81\x20,2024.01.02\n"
      "k4,\xC0\xEE,2024\xC4\xEA"
      "2\xD4\xC2"
      "30\xC8\xD5\n";  // 2024年2月30日: no such day
  for (auto enc : {EncodingChoice::kAuto, EncodingChoice::kGb18030}) {
    auto rows = read_all(InputFormat::kCsv, csv, {}, false, enc);
    REQUIRE(rows.size() == 4);
    REQUIRE(rows[0].ok);
    CHECK(field(rows[0].record, "name")->text() == "张三");
    CHECK(format_date_days(field(rows[0].record, "born")->date_days()) == "2024-01-02");
    REQUIRE(rows[1].ok);
    CHECK(field(rows[1].record, "name")->text() == "李四");
    CHECK(field(rows[1].record, "born")->date_days() == field(rows[0].record, "born")->date_days());
    CHECK_FALSE(rows[2].ok);
    CHECK(rows[2].code == v1::RECORD_STATUS_MALFORMED);
    CHECK(rows[2].field == "name");
    CHECK(rows[2].reason.find("line 4: ") == 0);
    CHECK(rows[2].reason.find("not valid GB18030 at byte 0 (bytes 81 20)") != std::string::npos);
    // Refused date: the original text is in the reason, and the kept row is decoded.
    CHECK_FALSE(rows[3].ok);
    CHECK(rows[3].field == "born");
    CHECK(rows[3].reason.find("'2024年2月30日'") != std::string::npos);
    CHECK(rows[3].raw == "k4,李,2024年2月30日");
  }
  // JSON Lines: the line is decoded before JSON reads it (昞 ends in 0x5C, a backslash).
  const std::string jsonl =
      "{\"record_key\":\"j1\",\"name\":\"\x95\x5C\",\"born\":\"2024.01.02\"}\n"
      "{\"record_key\":\"j2\",\"name\":\"\x81\x20\"}\n"
      "{\"record_key\":\"j3\",\"name\":\"\xD5\xC5\"}\n";
  auto rows = read_all(InputFormat::kJsonLines, jsonl);
  REQUIRE(rows.size() == 3);
  REQUIRE(rows[0].ok);
  CHECK(field(rows[0].record, "name")->text() == "昞");
  CHECK_FALSE(rows[1].ok);
  CHECK(rows[1].reason.find("not valid GB18030") != std::string::npos);
  REQUIRE(rows[2].ok);
  CHECK(field(rows[2].record, "name")->text() == "张");
}

TEST_CASE("input file: auto names the encoding it chose, a pipe judged by its first block",
          "[agent][reader]") {
  TempDir dir;
  write_text(dir.file("u"), "name\n张三\n");
  write_text(dir.file("g"), "name\n\xD5\xC5\xC8\xFD\n");
  CHECK(must(InputFile::open(dir.file("u"))).encoding_note() == "UTF-8 (auto: valid UTF-8)");
  CHECK(must(InputFile::open(dir.file("g"))).encoding_note() ==
        "GB18030 (auto: not UTF-8 at byte 5)");
  CHECK(must(InputFile::open(dir.file("g"), EncodingChoice::kUtf8)).encoding_note() ==
        "UTF-8 (declared)");
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  const std::string text = "name\n\xD5\xC5\n";
  REQUIRE(::write(p[1], text.data(), text.size()) == ssize_t(text.size()));
  ::close(p[1]);
  InputFile in = InputFile::from_fd(Fd(p[0]), "pipe");
  REQUIRE(in.choose_encoding(EncodingChoice::kAuto));
  CHECK(in.charset() == Charset::kGb18030);
  std::string line;
  REQUIRE(must(in.next_line(line, 100)) == InputFile::Line::kOk);
  CHECK(line == "name");  // the block read to decide is still there for the readers
  REQUIRE(must(in.next_line(line, 100)) == InputFile::Line::kOk);
  CHECK(line == "\xD5\xC5");
}

TEST_CASE("values: dates as offices write them", "[agent][values]") {
  const int32_t day = *parse_date_days("2024-01-02");
  for (const char* text : {"2024年1月2日", "2024年01月02日", "2024/1/2", "2024/01/02", "2024.01.02",
                           "2024.1.2", "2024-1-2", "２０２４年１月２日", "２０２４／０１／０２",
                           "２０２４．１．２", " 2024/1/2 "}) {
    INFO(text);
    auto d = parse_date_days(text);
    REQUIRE(d);
    CHECK(*d == day);
  }
  for (const char* text : {"2024年2月30日", "2024/1/2/3", "2024/1-2", "2024年1月2", "24/1/2",
                           "2024/123/1", "２０２４／１３／０１"}) {
    INFO(text);
    auto d = parse_date_days(text);
    REQUIRE_FALSE(d);
    CHECK(d.error().message().find(std::string("'") + text + "'") != std::string::npos);
  }
}
