// Identity key files (core/crypto/key_file.h). load_key_file takes a path (it checks the file's
// owner and mode before it reads a byte into protected memory), so each input is written to a
// scratch file of mode 0600 owned by this user. A key that loads saves and loads again as the
// same key.
#include "core/crypto/key_file.h"
#include "fuzz/fuzz_support.h"

using namespace gongshu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto loaded = crypto::load_key_file(fuzz::scratch_file(fuzz::text(data, size)));
  if (!loaded) return 0;
  const std::string copy = fuzz::scratch_path() + ".saved";
  GONGSHU_CHECK(crypto::save_key_file(copy, loaded->kind, loaded->key).has_value());
  auto again = crypto::load_key_file(copy);
  ::unlink(copy.c_str());
  GONGSHU_FUZZ_CHECK(again.has_value(), "a saved key file does not load");
  GONGSHU_FUZZ_CHECK(
      again->kind == loaded->kind && again->key.public_key() == loaded->key.public_key(),
      "a saved key file loads as another key");
  return 0;
}
