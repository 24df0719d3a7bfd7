// gongshu-agent catalog list|refresh: the cached catalog the agent validates records against.

#include <iostream>
#include <memory>

#include "agent/api_client.h"
#include "agent/catalog_cache.h"
#include "agent/cmd_common.h"
#include "agent/commands.h"
#include "core/util/json.h"
#include "core/util/printable.h"
#include "core/wire/context.h"

namespace gongshu::agent {

constexpr const char* kList = "catalog list";        // i18n-exempt: the command's name
constexpr const char* kRefresh = "catalog refresh";  // i18n-exempt: the command's name

void add_catalog_commands(CLI::App& app, int* exit_code) {
  struct Options {
    std::string config;
    bool json = false;
    int timeout_s = 10;
  };
  auto o = std::make_shared<Options>();
  CLI::App* group = app.add_subcommand(
      "catalog", tr("The catalog of the agency's datasets, cached from the daemon"));
  group->require_subcommand(1);
  CLI::App* list = group->add_subcommand(
      "list",
      tr("List the cached datasets with their catalog state and fields (type,\n"
         "personal-information kind, required). Records are accepted only for approved ones."));
  add_config_option(list, &o->config);
  list->add_flag("--json", o->json, tr("Print JSON"));
  list->callback([o, exit_code] {
    auto loaded = load_config_and_spool(o->config);
    if (!loaded) return void(*exit_code = report(kList, loaded.error()));
    auto cache = CatalogCache::load(*loaded->spool);
    if (!cache) return void(*exit_code = report(kList, cache.error()));
    if (o->json) {
      JsonWriter w;
      w.begin_array();
      for (const auto* d : cache->all()) {
        const auto& e = d->entry();
        w.begin_object()
            .field("id", e.id())
            .field("name", e.name())
            .field("provider", e.provider_agency())
            .field("subject", e.subject_kind())
            .field("status", e.status())
            .field("accepts_records", !cache->refused_state(*d))
            .field("legal_basis", e.legal_basis());
        w.key("fields").begin_array();
        for (const auto& f : e.fields()) {
          w.begin_object()
              .field("name", f.name())
              .field("type", catalog::field_type_name(f.type()))
              .field("pii", catalog::pii_kind_name(f.pii()))
              .field("required", f.required())
              .end_object();
        }
        w.end_array().end_object();
      }
      w.end_array();
      std::cout << w.str() << "\n";
    } else {
      if (cache->empty()) {
        std::cout << tr("no cached datasets (gongshu-agent catalog refresh)") << "\n";
      }
      for (const auto* d : cache->all()) {
        const auto& e = d->entry();
        std::cout << printable(e.id()) << "  " << printable(e.name()) << "  "
                  << trf("(subject {})", printable(e.subject_kind() +
                                                   (e.status().empty() ? "" : ", " + e.status())))
                  << "\n";
        for (const auto& f : e.fields()) {
          std::cout << "    " << printable(f.name()) << ": " << catalog::field_type_name(f.type());
          if (f.pii() != v1::PII_NONE) std::cout << ", " << catalog::pii_kind_name(f.pii());
          if (f.required()) std::cout << ", " << tr("required");
          std::cout << "\n";
        }
      }
    }
    *exit_code = 0;
  });
  CLI::App* refresh = group->add_subcommand(
      "refresh",
      tr("Fetch the agency's datasets from the daemon now and replace the cached copy."));
  add_config_option(refresh, &o->config);
  refresh->add_option("--timeout", o->timeout_s, tr("Seconds to wait for the daemon"))
      ->capture_default_str();
  refresh->callback([o, exit_code] {
    auto loaded = load_config_and_spool(o->config);
    if (!loaded) return void(*exit_code = report(kRefresh, loaded.error()));
    auto key = load_agent_key(loaded->config.key_file);
    if (!key) return void(*exit_code = report(kRefresh, key.error()));
    auto context = wire::Context::create();
    if (!context) return void(*exit_code = report(kRefresh, context.error()));
    auto r = refresh_catalog(*context, loaded->config, *key, *loaded->spool,
                             SystemClock::instance(), std::chrono::seconds(o->timeout_s));
    if (!r) {
      ErrorCode c = r.error().code();
      bool refused = c == ErrorCode::kUnauthenticated || c == ErrorCode::kPermissionDenied ||
                     c == ErrorCode::kInvalidArgument || c == ErrorCode::kNotFound ||
                     c == ErrorCode::kAlreadyExists;
      return void(*exit_code = report(kRefresh, r.error(), refused ? 1 : 2));
    }
    for (const auto& w : r->warnings) {
      std::cerr << "gongshu-agent catalog refresh: "  // i18n-exempt: program and command names
                << trf("warning: {}", printable(w)) << "\n";
    }
    std::cout << trf("{} datasets cached", r->datasets) << "\n";
    // say which cached datasets refuse records, and why.
    if (auto cache = CatalogCache::load(*loaded->spool)) {
      for (const auto* d : cache->all()) {
        if (auto refused = cache->refused_state(*d)) {
          std::cout << trf("refused: {}", printable(*refused)) << "\n";
        }
      }
    }
    *exit_code = 0;
  });
}

}  // namespace gongshu::agent
