// gongshuctl keygen: creates an identity key file (DESIGN §4) and prints its public half.

#include <iostream>
#include <memory>
#include <string>

#include "core/crypto/key_file.h"
#include "core/util/i18n.h"
#include "core/util/json.h"
#include "tools/ctl/commands.h"

namespace gongshu::ctl {

void add_keygen_command(CLI::App& app, int* exit_code) {
  struct Options {
    std::string kind;
    std::string out;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "keygen",
      tr("Generate an Ed25519 identity key and write it to a new key file (mode 0600).\n"
         "Prints the public key (64 hex) and key id, which may be shared; the file holds the\n"
         "secret and is never overwritten. Agency users, catalog reviewers, applicants, licensed\n"
         "operators and staff hand the public key to an operator (gongshuctl principal add\n"
         "--role KIND); a `public` key reaches the open catalog and open data without\n"
         "registration."));
  cmd->add_option("--kind", opts->kind, tr("Whose key it is"))
      ->required()
      ->check(CLI::IsMember({"agent", "operator", "officer", "agency", "reviewer", "applicant",
                             "licensed", "public", "daemon"}));
  cmd->add_option("--out", opts->out, tr("Path of the key file to create"))->required();
  cmd->add_flag("--json", opts->json, tr("Print the result as JSON"));
  cmd->callback([opts, exit_code] {
    auto kind = crypto::parse_key_kind(opts->kind);
    auto key = crypto::IdentityKey::generate();
    if (auto s = crypto::save_key_file(opts->out, *kind, key); !s) {
      std::cerr << "gongshuctl keygen: "  // i18n-exempt: program and command names
                << s.error().message() << "\n";
      *exit_code = s.error().code() == ErrorCode::kAlreadyExists ? 1 : 2;
      return;
    }
    const auto& pub = key.public_key();
    if (opts->json) {
      JsonWriter w;
      w.begin_object()
          .field("kind", opts->kind)
          .field("public_key", pub.hex())
          .field("key_id", pub.key_id())
          .field("file", opts->out)
          .end_object();
      std::cout << w.str() << "\n";
    } else {
      std::cout << trf("kind:       {}", opts->kind) << "\n"
                << trf("public key: {}", pub.hex()) << "\n"
                << trf("key id:     {}", pub.key_id()) << "\n"
                << trf("secret key written to {} (mode 0600)", opts->out) << "\n";
    }
    *exit_code = 0;
  });
}

}  // namespace gongshu::ctl
