#include "daemon/objections.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "core/catalog/dataset.h"
#include "core/catalog/validate.h"
#include "core/crypto/aead.h"
#include "core/ids/citizen_id.h"
#include "core/ids/credit_code.h"
#include "core/policy/calendar.h"
#include "core/util/encoding.h"
#include "core/util/printable.h"
#include "daemon/catalog_authority.h"
#include "daemon/record_reader.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {
namespace {

constexpr size_t kMaxText = 2000;  // reason, note
constexpr size_t kMaxContact = 200;
constexpr size_t kMaxRecords = 1000;  // records one subject's objection may dispute
constexpr size_t kMaxId = 32;

struct StateRow {
  ObjectionState state;
  std::string_view name;
};
constexpr StateRow kStates[] = {{ObjectionState::kFiled, "filed"},
                                {ObjectionState::kVerifying, "verifying"},
                                {ObjectionState::kCorrected, "corrected"},
                                {ObjectionState::kUpheld, "upheld"},
                                {ObjectionState::kTransferred, "transferred"}};

// The one table of transitions (DESIGN §12): who may take them is checked by the handlers
// (the assigned agency only).
struct Transition {
  ObjectionState from;
  ObjectionStep step;
  ObjectionState to;
};
constexpr Transition kTransitions[] = {
    {ObjectionState::kFiled, ObjectionStep::kVerify, ObjectionState::kVerifying},
    {ObjectionState::kVerifying, ObjectionStep::kCorrect, ObjectionState::kCorrected},
    {ObjectionState::kVerifying, ObjectionStep::kUphold, ObjectionState::kUpheld},
    {ObjectionState::kFiled, ObjectionStep::kTransfer, ObjectionState::kTransferred},
    {ObjectionState::kVerifying, ObjectionStep::kTransfer, ObjectionState::kTransferred},
};

std::string_view step_name(ObjectionStep s) {
  switch (s) {
    case ObjectionStep::kVerify:
      return "verify";
    case ObjectionStep::kCorrect:
      return "correct";
    case ObjectionStep::kUphold:
      return "uphold";
    case ObjectionStep::kTransfer:
      return "transfer";
  }
  return "?";
}

std::string state_str(ObjectionState s) { return std::string(objection_state_name(s)); }

ObjectionState state_of(const v1::ObjectionInfo& o) {
  return parse_objection_state(o.state()).value_or(ObjectionState::kFiled);
}

std::string mark_key(std::string_view dataset, std::string_view record_key, std::string_view id) {
  std::string k(dataset);
  k.push_back('\0');
  k.append(record_key);
  k.push_back('\0');
  k.append(id);
  return k;
}

// The associated data binding an objection's sealed text to its id.
Bytes sealed_ad(const std::string& id) {
  Bytes ad;
  append(ad, std::string_view("gongshu.objection.v1"));
  ad.push_back(0);
  append(ad, id);
  return ad;
}

// What the requester and the desks wrote (reason, contact, answer, notification, step notes)
// may name the requester, so it is stored sealed under the dataset's data key, never in clear.
Status seal_text(DaemonStore& store, const store::Txn& txn, v1::ObjectionInfo& o) {
  GONGSHU_TRY(const crypto::DataKey* key, store.data_key(txn, o.dataset()));
  v1::ObjectionInfo text;
  text.set_reason(std::move(*o.mutable_reason()));
  text.set_contact(std::move(*o.mutable_contact()));
  text.set_answer(std::move(*o.mutable_answer()));
  text.set_notification(std::move(*o.mutable_notification()));
  for (auto& s : *o.mutable_steps()) text.add_steps()->set_note(std::move(*s.mutable_note()));
  o.clear_reason();
  o.clear_contact();
  o.clear_answer();
  o.clear_notification();
  for (auto& s : *o.mutable_steps()) s.clear_note();
  const std::string plain = text.SerializeAsString();
  const Bytes box = crypto::aead_encrypt(*key, sealed_ad(o.id()), as_bytes(plain));
  o.set_sealed(box.data(), box.size());
  return {};
}

// The reverse; a destroyed dataset's key is gone, and its objections say so in place of the text.
void open_text(DaemonStore& store, const store::Txn& txn, v1::ObjectionInfo& o) {
  if (o.sealed().empty()) return;
  std::string why;
  if (auto key = store.data_key(txn, o.dataset()); !key) {
    why = key.error().message();
  } else if (auto plain = crypto::aead_decrypt(**key, sealed_ad(o.id()), as_bytes(o.sealed()));
             !plain) {
    why = plain.error().message();
  } else if (v1::ObjectionInfo text; !parse_value(*plain, text)) {
    why = "the sealed text does not parse";
  } else {
    o.set_reason(std::move(*text.mutable_reason()));
    o.set_contact(std::move(*text.mutable_contact()));
    o.set_answer(std::move(*text.mutable_answer()));
    o.set_notification(std::move(*text.mutable_notification()));
    for (int i = 0; i < o.steps_size() && i < text.steps_size(); ++i)
      o.mutable_steps(i)->set_note(std::move(*text.mutable_steps(i)->mutable_note()));
    o.clear_sealed();
    return;
  }
  o.set_reason("(unreadable 无法读取: " + why + ")");
  o.clear_sealed();
}

Result<v1::ObjectionInfo> read_objection(DaemonStore& store, const store::Txn& txn,
                                         const std::string& id) {
  if (id.empty() || id.size() > kMaxId)
    return fail(ErrorCode::kNotFound, "no objection with such an id (ids are like YY-2026-0001)");
  auto v = store.db().objections.get(txn, id);
  if (!v) return fail(ErrorCode::kNotFound, "no objection " + printable(id));
  v1::ObjectionInfo o;
  if (!parse_value(*v, o)) return fail(ErrorCode::kCorrupt, "objection " + id + " does not parse");
  open_text(store, txn, o);
  return o;
}

Status write_objection(DaemonStore& store, store::WriteTxn& txn, v1::ObjectionInfo o) {
  GONGSHU_RETURN_IF_ERROR(seal_text(store, txn, o));
  return store.db().objections.put(txn, o.id(), as_bytes(o.SerializeAsString()));
}

// Subject marks sort before every record's (record keys are printable, so none starts with
// \x01): dataset \0 \x01 subject token (hex) \0 objection id.
std::string subject_mark_key(std::string_view dataset, std::string_view token_hex,
                             std::string_view id) {
  return mark_key(dataset, "\x01" + std::string(token_hex), id);
}

Status mark(const DaemonStore& store, store::WriteTxn& txn, const v1::ObjectionInfo& o, bool on) {
  std::vector<std::string> keys;
  for (const auto& k : o.records()) keys.push_back(mark_key(o.dataset(), k, o.id()));
  if (!o.subject_token().empty())
    keys.push_back(subject_mark_key(o.dataset(), o.subject_token(), o.id()));
  for (const std::string& key : keys) {
    if (on) {
      GONGSHU_RETURN_IF_ERROR(store.db().objection_marks.put(txn, key, ByteView()));
    } else {
      GONGSHU_RETURN_IF_ERROR(store.db().objection_marks.del(txn, key));
    }
  }
  return {};
}

Result<policy::WorkCalendar> calendar(const ApiContext& ctx) {
  return with_context(policy::WorkCalendar::load_dir(ctx.options.policy_dir),
                      "objection deadlines need the working-day calendar");
}

bool agency_exists(const DaemonStore& store, const store::Txn& txn, const std::string& id) {
  return !id.empty() && store.db().agencies.get(txn, id).has_value();
}

// Where an objection goes: to the dataset's provider; when the objection names a field
// and the catalog names an authoritative source (权威来源) for a data item holding that field
// (daemon/catalog_authority.h authoritative_for), to that source's provider.
struct Route {
  std::string agency;
  std::string by;
};
Result<Route> route_objection(const DaemonStore& store, const store::Txn& txn,
                              const catalog::DatasetSchema& schema, const std::string& field) {
  Route provider{schema.entry().provider_agency(), "provider"};
  if (field.empty()) return provider;
  const v1::FieldSpec* spec = schema.field(field);
  GONGSHU_TRY(auto sources,
              authoritative_for(store, txn, field, spec ? spec->pii() : v1::PII_NONE));
  if (sources.empty()) return provider;
  for (const auto& a : sources) {
    // The dataset objected to is itself the source of the item: its provider answers.
    if (a.dataset() == schema.id()) return Route{provider.agency, "authority " + a.item()};
  }
  const v1::CatalogAuthority& a = sources.front();
  std::string agency = a.provider();
  if (agency.empty()) {
    if (auto v = store.db().catalog.get(txn, a.dataset())) {
      v1::DatasetEntry e;
      if (parse_value(*v, e)) agency = e.provider_agency();
    }
  }
  if (agency.empty()) return provider;
  return Route{agency, "authority " + a.item() + " (" + a.dataset() + ")"};
}

void add_step(v1::ObjectionInfo& o, const Caller& c, std::string_view step,
              std::optional<ObjectionState> from, ObjectionState to, int64_t now_ms,
              const std::string& note) {
  o.set_state(state_str(to));
  auto* s = o.add_steps();
  s->set_step(std::string(step));
  if (from) s->set_from_state(state_str(*from));
  s->set_to_state(state_str(to));
  s->set_key_id(c.key_id);
  s->set_role(c.role);
  s->set_agency(c.agency);
  s->set_at_ms(now_ms);
  s->set_note(note);
}

// The audit entry of a step: ids, states, the agency, the deadline; never the reason, the
// contact or the identifier (a subject by its keyed hash only).
v1::AuditEntry step_entry(const Caller& c, const std::string& action, const v1::ObjectionInfo& o,
                          const std::string& detail) {
  auto e = entry_for(c, action);
  e.set_dataset(o.dataset());
  add_ref(e, "objection", o.id());
  if (!o.record_key().empty()) add_ref(e, "record", o.record_key());
  if (!o.subject_token().empty()) add_ref(e, "subject_token", o.subject_token());
  add_ref(e, "assigned_agency", o.assigned_agency());
  e.set_record_count(uint64_t(o.records_size()));
  e.set_detail(detail);
  return e;
}

std::string deadline_text(const v1::ObjectionInfo& o) {
  return "deadline " + format_utc(o.deadline_ms() * 1'000'000) + " (" +
         std::to_string(o.deadline_working_days()) + " working days, Asia/Shanghai)";
}

// Opens o at now: its deadline from the calendar, its records marked disputed.
Status open_at(DaemonStore& store, store::WriteTxn& txn, const policy::WorkCalendar& cal,
               v1::ObjectionInfo& o, int64_t now_ms) {
  o.set_filed_at_ms(now_ms);
  o.set_deadline_working_days(cal.objection_working_days());
  o.set_deadline_ms(cal.deadline_after(now_ms, cal.objection_working_days()));
  GONGSHU_RETURN_IF_ERROR(write_objection(store, txn, o));
  return mark(store, txn, o, true);
}

// What the requester is told, in Chinese and English.
std::string notification_text(const v1::ObjectionInfo& o, ObjectionState to,
                              const std::string& note) {
  std::string zh = "您提出的异议（" + o.id() + "，数据集 " + o.dataset() + "）已由 " +
                   o.assigned_agency() + " 核实：";
  std::string en = "Your objection " + o.id() + " (dataset " + o.dataset() + ") was checked by " +
                   o.assigned_agency() + ": ";
  switch (to) {
    case ObjectionState::kCorrected:
      zh += "数据已更正（记录版本 " + std::to_string(o.corrected_version()) + "）。";
      en +=
          "the data was corrected (record version " + std::to_string(o.corrected_version()) + ").";
      break;
    case ObjectionState::kUpheld:
      zh += "数据经核实无误，维持原状。";
      en += "the data was found correct and stands.";
      break;
    default:
      zh += "已转由 " + o.transferred_to() + " 办理。";
      en += "it was passed on to the agency responsible (objection " + o.transferred_to() + ").";
  }
  return zh + "说明：" + note + "\n" + en + " Note: " + note;
}

bool may_see(const Caller& c, const v1::ObjectionInfo& o) {
  if (c.role == "operator" || c.role == "officer") return true;
  return c.role == "agency" && (o.assigned_agency() == c.agency || o.filed_by_agency() == c.agency);
}

// Runs change in a write transaction; a kPermissionDenied from it is audited as a denial.
Reply run(ApiContext& ctx, const Caller& c, const std::string& action, const std::string& what,
          const std::function<Status(store::WriteTxn&)>& change) {
  auto s = ctx.store.env().update(change);
  if (!s) {
    if (s.error().code() == ErrorCode::kPermissionDenied) {
      auto e = entry_for(c, action);
      add_ref(e, "objection", what);
      e.set_decision(v1::DECISION_DENY);
      e.set_detail(s.error().message());
      if (auto a = ctx.audit_refusal(c.refusal_key(), action, std::move(e)); !a)
        return tl::unexpected(from_error(a.error()));
    }
    return tl::unexpected(from_error(s.error()));
  }
  return {};
}

void with_overdue(v1::ObjectionInfo& o, int64_t now_ms) {
  const bool open = objection_open(state_of(o));
  o.set_overdue(open ? now_ms >= o.deadline_ms()
                     : o.answered_at_ms() >= o.deadline_ms() && o.answered_at_ms() > 0);
}

Reply answer_one(ApiContext& ctx, const std::string& id, v1::ApiResponse& resp) {
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto o = read_objection(ctx.store, *txn, id);
  if (!o) return tl::unexpected(from_error(o.error()));
  auto* out = resp.mutable_objections();
  out->set_now_ms(ctx.store.clock().now_ms());
  with_overdue(*o, out->now_ms());
  *out->add_objections() = std::move(*o);
  return {};
}

// The assigned agency's step on id: checks the caller, the state table, then apply().
Reply take_step(ApiContext& ctx, const Caller& c, const std::string& id, ObjectionStep step,
                v1::ApiResponse& resp,
                const std::function<Status(store::WriteTxn&, v1::ObjectionInfo&, ObjectionState,
                                           ObjectionState, int64_t)>& apply) {
  const std::string action_try = "objection_" + std::string(step_name(step));
  if (auto r = ctx.require(c, action_try, {"agency"}); !r) return r;
  auto r = run(ctx, c, action_try, id, [&](store::WriteTxn& txn) -> Status {
    GONGSHU_TRY(v1::ObjectionInfo o, read_objection(ctx.store, txn, id));
    if (o.assigned_agency() != c.agency) {
      return fail(ErrorCode::kPermissionDenied, "objection " + id + " is assigned to " +
                                                    o.assigned_agency() + ", not agency " +
                                                    c.agency);
    }
    const ObjectionState from = state_of(o);
    auto to = objection_next(from, step);
    if (!to) {
      return fail(ErrorCode::kAlreadyExists,
                  "objection " + id + " is " + o.state() + "; it cannot be " +
                      std::string(step == ObjectionStep::kVerify     ? "verified"
                                  : step == ObjectionStep::kTransfer ? "transferred"
                                                                     : "answered") +
                      (from == ObjectionState::kFiled ? " before it is verified (objection verify)"
                                                      : " now"));
    }
    return apply(txn, o, from, *to, ctx.store.clock().now_ms());
  });
  if (!r) return r;
  return answer_one(ctx, id, resp);
}

}  // namespace

std::string_view objection_state_name(ObjectionState s) {
  for (const auto& r : kStates) {
    if (r.state == s) return r.name;
  }
  return "?";
}

std::optional<ObjectionState> parse_objection_state(std::string_view s) {
  for (const auto& r : kStates) {
    if (r.name == s) return r.state;
  }
  return std::nullopt;
}

std::optional<ObjectionState> objection_next(ObjectionState from, ObjectionStep step) {
  for (const auto& t : kTransitions) {
    if (t.from == from && t.step == step) return t.to;
  }
  return std::nullopt;
}

bool objection_open(ObjectionState s) {
  return s == ObjectionState::kFiled || s == ObjectionState::kVerifying;
}

std::vector<std::string> disputes_of(const DaemonStore& store, const store::Txn& txn,
                                     std::string_view dataset, std::string_view record_key) {
  std::vector<std::string> out;
  const std::string prefix = mark_key(dataset, record_key, "");
  auto cur = store.db().objection_marks.cursor(txn);
  for (auto e = cur.seek(as_bytes(prefix)); e; e = cur.next()) {
    std::string_view k = as_chars(e->key);
    if (!k.starts_with(prefix)) break;
    out.emplace_back(k.substr(prefix.size()));
  }
  return out;
}

std::vector<std::string> disputes_of_record(const DaemonStore& store, const store::Txn& txn,
                                            const catalog::DatasetSchema& schema,
                                            std::string_view record_key,
                                            std::string_view subject_id) {
  std::vector<std::string> out = disputes_of(store, txn, schema.id(), record_key);
  const std::string& kind = schema.entry().subject_kind();
  if (subject_id.empty() || (kind != "person" && kind != "organisation")) return out;
  auto cur = store.db().objection_marks.cursor(txn);
  std::string any = schema.id();  // dataset \0 \x01: the dataset's subject marks
  any.push_back('\0');
  any.push_back('\x01');
  auto first = cur.seek(as_bytes(any));
  if (!first || !as_chars(first->key).starts_with(any)) return out;  // no subject objection
  const ids::IdCheck id = kind == "person" ? ids::check_citizen_id(subject_id, store.clock())
                                           : ids::check_credit_code(subject_id);
  if (!id.valid) return out;
  const std::string prefix =
      subject_mark_key(schema.id(), hex_encode(store.subject_token(id.normalized)), "");
  for (auto e = cur.seek(as_bytes(prefix)); e; e = cur.next()) {
    std::string_view k = as_chars(e->key);
    if (!k.starts_with(prefix)) break;
    std::string oid(k.substr(prefix.size()));
    if (std::find(out.begin(), out.end(), oid) == out.end()) out.push_back(std::move(oid));
  }
  return out;
}

Reply objection_file(ApiContext& ctx, const Caller& c, const v1::ObjectionFileRequest& req,
                     v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "objection_file", {"agency", "operator"}); !r) return r;
  if (auto s = checked_text("a reason", req.reason(), kMaxText, true); !s)
    return tl::unexpected(from_error(s.error()));
  if (auto s = checked_text("a contact (how the desk reaches the requester)", req.contact(),
                            kMaxContact, true);
      !s)
    return tl::unexpected(from_error(s.error()));
  if (req.record_key().empty() == req.subject_id().empty())
    return refuse(v1::API_BAD_REQUEST, "give a record key (--record) or a subject (--subject)");
  if (req.record_key().size() > catalog::kMaxRecordKey || !is_printable(req.record_key()))
    return refuse(v1::API_BAD_REQUEST, "the record key is not a record key of this platform");
  auto snap = ctx.catalog.snapshot();
  auto it = snap->find(req.dataset());
  if (it == snap->end())
    return refuse(v1::API_NOT_FOUND, "no dataset " + printable(req.dataset()) + " in the catalog");
  const catalog::DatasetSchema& schema = it->second;
  if (!req.field().empty() && !schema.field(req.field()))
    return refuse(v1::API_BAD_REQUEST,
                  "dataset " + schema.id() + " has no field '" + printable(req.field()) + "'");
  std::string subject;
  if (!req.subject_id().empty()) {
    const std::string& kind = schema.entry().subject_kind();
    if (kind != "person" && kind != "organisation")
      return refuse(v1::API_BAD_REQUEST, "dataset " + schema.id() + " has no subjects");
    const ids::IdCheck check = kind == "person"
                                   ? ids::check_citizen_id(req.subject_id(), ctx.store.clock())
                                   : ids::check_credit_code(req.subject_id());
    if (!check.valid) {
      return refuse(v1::API_BAD_REQUEST,
                    std::string(kind == "person" ? "citizen ID number" : "credit code") +
                        " is not valid: " + check.reason);
    }
    subject = check.normalized;
  }
  auto cal = calendar(ctx);
  if (!cal) return refuse(v1::API_INTERNAL, cal.error().message());
  std::string id;
  auto r = run(ctx, c, "objection_file", "", [&](store::WriteTxn& txn) -> Status {
    DaemonStore& store = ctx.store;
    const int64_t now = store.clock().now_ms();
    v1::ObjectionInfo o;
    o.set_dataset(schema.id());
    o.set_reason(req.reason());
    o.set_contact(req.contact());
    RecordReader reader(store, txn);
    uint64_t newest = 0;
    if (!req.record_key().empty()) {
      GONGSHU_TRY(auto rec, reader.get(schema.id(), req.record_key()));
      if (!rec) {
        return fail(ErrorCode::kNotFound,
                    "dataset " + schema.id() + " has no record " + printable(req.record_key()));
      }
      o.set_record_key(req.record_key());
      o.add_records(req.record_key());
      newest = rec->version;
    } else {
      const crypto::Digest token = store.subject_token(subject);
      o.set_subject_token(hex_encode(token));
      const std::string& kind = schema.entry().subject_kind();
      GONGSHU_RETURN_IF_ERROR(
          reader.scan_subject(token, schema.id(), "", true, [&](CurrentRecord&& rec) {
            const ids::IdCheck now_id =
                kind == "person" ? ids::check_citizen_id(rec.record.subject_id(), store.clock())
                                 : ids::check_credit_code(rec.record.subject_id());
            if (!now_id.valid || now_id.normalized != subject) return true;
            o.add_records(rec.record_key);
            newest = std::max(newest, rec.version);
            return size_t(o.records_size()) < kMaxRecords;
          }));
      if (o.records_size() == 0) {
        return fail(ErrorCode::kNotFound,
                    "dataset " + schema.id() + " holds no record about this subject");
      }
    }
    o.set_version_at_filing(newest);
    GONGSHU_TRY(Route route, route_objection(store, txn, schema, req.field()));
    o.set_assigned_agency(route.agency);
    o.set_routed_by(route.by);
    GONGSHU_TRY(id, store.next_yearly_id(txn, "objection", "YY", now));  // 异议
    o.set_id(id);
    o.set_filed_by(c.key_id);
    o.set_filed_by_role(c.role);
    o.set_filed_by_agency(c.agency);
    add_step(o, c, "file", std::nullopt, ObjectionState::kFiled, now, "");
    GONGSHU_RETURN_IF_ERROR(open_at(store, txn, *cal, o, now));
    auto e = step_entry(c, "objection_filed", o,
                        "-> filed; assigned to " + o.assigned_agency() + " (" + o.routed_by() +
                            "); " + deadline_text(o) + "; " + std::to_string(o.records_size()) +
                            " record(s) disputed" +
                            (req.field().empty() ? "" : "; field " + req.field()));
    GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
    return {};
  });
  if (!r) return r;
  return answer_one(ctx, id, resp);
}

Reply objection_verify(ApiContext& ctx, const Caller& c, const v1::ObjectionVerifyRequest& req,
                       v1::ApiResponse& resp) {
  if (auto s = checked_text("a note", req.note(), kMaxText, false); !s)
    return tl::unexpected(from_error(s.error()));
  return take_step(ctx, c, req.id(), ObjectionStep::kVerify, resp,
                   [&](store::WriteTxn& txn, v1::ObjectionInfo& o, ObjectionState from,
                       ObjectionState to, int64_t now) -> Status {
                     add_step(o, c, "verify", from, to, now, req.note());
                     GONGSHU_RETURN_IF_ERROR(write_objection(ctx.store, txn, o));
                     auto e = step_entry(c, "objection_verifying", o,
                                         state_str(from) + " -> " + state_str(to) + "; " +
                                             deadline_text(o) +
                                             (now >= o.deadline_ms() ? "; overdue" : ""));
                     GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, e));
                     return {};
                   });
}

Reply objection_answer(ApiContext& ctx, const Caller& c, const v1::ObjectionAnswerRequest& req,
                       v1::ApiResponse& resp) {
  const int outcomes =
      (req.corrected_version() != 0) + int(req.upheld()) + int(!req.transfer_to().empty());
  if (outcomes != 1) {
    return refuse(v1::API_BAD_REQUEST,
                  "answer with exactly one of --corrected VERSION, --upheld and --transfer AGENCY");
  }
  if (auto s =
          checked_text("a note (the answer the requester is told)", req.note(), kMaxText, true);
      !s)
    return tl::unexpected(from_error(s.error()));
  const ObjectionStep step = req.corrected_version() ? ObjectionStep::kCorrect
                             : req.upheld()          ? ObjectionStep::kUphold
                                                     : ObjectionStep::kTransfer;
  std::optional<policy::WorkCalendar> cal;
  if (step == ObjectionStep::kTransfer) {
    auto loaded = calendar(ctx);
    if (!loaded) return refuse(v1::API_INTERNAL, loaded.error().message());
    cal = std::move(*loaded);
  }
  return take_step(
      ctx, c, req.id(), step, resp,
      [&](store::WriteTxn& txn, v1::ObjectionInfo& o, ObjectionState from, ObjectionState to,
          int64_t now) -> Status {
        DaemonStore& store = ctx.store;
        std::string detail = state_str(from) + " -> " + state_str(to);
        std::optional<v1::ObjectionInfo> next;
        if (step == ObjectionStep::kCorrect) {
          const uint64_t v = req.corrected_version();
          auto bytes = store.db().versions.get(txn, v);
          stored::Version ver;
          if (!bytes || !parse_value(*bytes, ver))
            return fail(ErrorCode::kNotFound, "no record version " + std::to_string(v));
          const auto& recs = o.records();
          if (ver.dataset() != o.dataset() ||
              std::find(recs.begin(), recs.end(), ver.record_key()) == recs.end()) {
            return fail(ErrorCode::kInvalidArgument,
                        "record version " + std::to_string(v) +
                            " is not a version of a record objection " + o.id() + " disputes");
          }
          if (v <= o.version_at_filing()) {
            return fail(ErrorCode::kInvalidArgument,
                        "record version " + std::to_string(v) +
                            " was stored before the objection was filed (the record was then at "
                            "version " +
                            std::to_string(o.version_at_filing()) +
                            "); deliver the corrected record first, then name its version");
          }
          o.set_corrected_version(v);
          detail += "; record " + ver.record_key() + " corrected by version " + std::to_string(v);
        } else if (step == ObjectionStep::kTransfer) {
          const std::string& target = req.transfer_to();
          if (target == o.assigned_agency())
            return fail(ErrorCode::kInvalidArgument,
                        "objection " + o.id() + " is already assigned to " + target);
          if (!agency_exists(store, txn, target))
            return fail(ErrorCode::kNotFound,
                        "agency '" + printable(target) + "' is not registered");
          v1::ObjectionInfo n;
          n.set_dataset(o.dataset());
          n.set_record_key(o.record_key());
          n.set_subject_token(o.subject_token());
          *n.mutable_records() = o.records();
          n.set_reason(o.reason());
          n.set_contact(o.contact());
          n.set_filed_by(o.filed_by());
          n.set_filed_by_role(o.filed_by_role());
          n.set_filed_by_agency(o.filed_by_agency());
          n.set_version_at_filing(o.version_at_filing());
          n.set_assigned_agency(target);
          n.set_routed_by("transfer from " + o.assigned_agency() + " (" + o.id() + ")");
          n.set_transferred_from(o.id());
          GONGSHU_TRY(std::string nid, store.next_yearly_id(txn, "objection", "YY", now));
          n.set_id(nid);
          add_step(n, c, "transfer", std::nullopt, ObjectionState::kFiled, now, req.note());
          o.set_transferred_to(nid);
          next = std::move(n);
          detail += "; continues as " + o.transferred_to() + " at " + target;
        }
        GONGSHU_RETURN_IF_ERROR(mark(store, txn, o, false));
        add_step(o, c, step_name(step), from, to, now, req.note());
        o.set_answer(req.note());
        o.set_answered_at_ms(now);
        o.set_answered_by(c.key_id);
        o.set_notification(notification_text(o, to, req.note()));
        o.set_notified_at_ms(now);
        with_overdue(o, now);
        detail += std::string(o.overdue() ? "; answered after the deadline (overdue)"
                                          : "; answered within the deadline") +
                  "; " + deadline_text(o) + "; requester notified";
        GONGSHU_RETURN_IF_ERROR(write_objection(store, txn, o));
        const std::string action = step == ObjectionStep::kCorrect  ? "objection_corrected"
                                   : step == ObjectionStep::kUphold ? "objection_upheld"
                                                                    : "objection_transferred";
        auto entry = step_entry(c, action, o, detail);
        GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, entry));
        if (next) {
          GONGSHU_RETURN_IF_ERROR(open_at(store, txn, *cal, *next, now));
          auto e = step_entry(c, "objection_filed", *next,
                              "-> filed; transferred from " + o.id() + " by " +
                                  o.assigned_agency() + "; assigned to " + next->assigned_agency() +
                                  "; " + deadline_text(*next) + "; " +
                                  std::to_string(next->records_size()) + " record(s) disputed");
          GONGSHU_RETURN_IF_ERROR(store.audit().append(txn, e));
        }
        return {};
      });
}

Reply objection_list(ApiContext& ctx, const Caller& c, const v1::ObjectionListRequest& req,
                     v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "objection_list", {"agency", "operator", "officer"}); !r) return r;
  if (!req.id().empty()) {
    if (auto r = answer_one(ctx, req.id(), resp); !r) return r;
    if (!may_see(c, resp.objections().objections(0))) {
      resp.clear_body();
      auto e = entry_for(c, "objection_show");
      add_ref(e, "objection", req.id());
      e.set_decision(v1::DECISION_DENY);
      e.set_detail("agency " + c.agency + " neither filed nor is assigned this objection");
      if (auto a = ctx.audit_refusal(c.refusal_key(), "objection_show", std::move(e)); !a)
        return tl::unexpected(from_error(a.error()));
      return refuse(v1::API_DENIED, "objection " + req.id() +
                                        " was neither filed by nor is "
                                        "assigned to agency " +
                                        c.agency);
    }
    return {};
  }
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto* out = resp.mutable_objections();
  const int64_t now = ctx.store.clock().now_ms();
  out->set_now_ms(now);
  auto cur = ctx.store.db().objections.cursor(*txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    v1::ObjectionInfo o;
    if (!parse_value(e->value, o)) {
      resp.clear_body();
      return refuse(v1::API_INTERNAL,
                    "objection " + printable(as_chars(e->key)) + " does not parse");
    }
    if (!may_see(c, o)) continue;
    if (!req.agency().empty() && o.assigned_agency() != req.agency()) continue;
    open_text(ctx.store, *txn, o);
    with_overdue(o, now);
    if (req.overdue() && !(o.overdue() && objection_open(state_of(o)))) continue;
    *out->add_objections() = std::move(o);
  }
  return {};
}

}  // namespace gongshu::daemon
