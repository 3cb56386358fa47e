// Test tool for "the server's state dir alone cannot decrypt a stored pickup":
// tries every 16- and 32-byte window of every file under a state dir as a key
// to one pickup, the way someone holding a copy of the disk would.
//
//   pickup_key_scan --state-dir DIR --id PICKUP_ID --wrapped-hex HEX --secret LINK_SECRET
//
// 32-byte windows are tried as the content key (against the blob), as the
// KEK (against the wrapped key) and as the link secret (KEK derived, against
// the wrapped key); 16-byte windows as a link secret (BLAKE2b takes 16-byte
// keys). The real link secret first proves that each check would succeed
// with the right key. Prints one JSON line; exit 0 when nothing opened.
#include <sodium.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "portal/pickup_crypto.h"

using namespace sealpost::pickup;

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string from_hex(const std::string& hex) {
  std::string out(hex.size() / 2, '\0');
  std::size_t len = 0;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(),
                     hex.size(), nullptr, &len, nullptr) != 0)
    return {};
  out.resize(len);
  return out;
}

// The blob's first 32 plaintext bytes under `key` (XChaCha20, block counter 1
// as the IETF AEAD uses for the message), checked for mail-header text. Only
// a key that passes this is tried with the full AEAD over the whole blob.
bool header_like_prefix(const std::string& sealed, const unsigned char* key) {
  constexpr std::size_t n = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  unsigned char out[32];
  crypto_stream_xchacha20_xor_ic(out, reinterpret_cast<const unsigned char*>(sealed.data() + n),
                                 sizeof out, reinterpret_cast<const unsigned char*>(sealed.data()),
                                 1, key);
  for (unsigned char c : out)
    if (!((c >= 0x20 && c < 0x7f) || c == '\r' || c == '\n' || c == '\t')) return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt;
  for (int i = 1; i + 1 < argc; i += 2) opt[argv[i]] = argv[i + 1];
  if (sodium_init() < 0 || !opt.count("--state-dir") || !opt.count("--id") ||
      !opt.count("--wrapped-hex") || !opt.count("--secret")) {
    (void)std::fprintf(stderr,
                       "usage: pickup_key_scan --state-dir D --id ID --wrapped-hex H --secret S\n");
    return 2;
  }
  const std::filesystem::path dir = opt["--state-dir"];
  const std::string id = opt["--id"];
  const std::string wrapped = from_hex(opt["--wrapped-hex"]);
  const std::string blob_ctx = "sealpost-pickup-blob|" + id;
  const std::string keys_ctx = "sealpost-pickup-keys|" + id;
  const std::string blob = slurp(dir / "pickup" / "blobs" / (id + ".sealed"));
  if (blob.size() < 64 || wrapped.size() < 64) {
    (void)std::fprintf(stderr, "blob or wrapped key missing\n");
    return 2;
  }
  const std::string sealed = blob.substr(6);  // after "SPPK1\n"

  // Positive control: the real secret opens both, and the prefix check sees it.
  auto secret = decode_link_secret(opt["--secret"]);
  bool control = false;
  if (secret) {
    auto material = open(derive_kek(*secret, id), wrapped, keys_ctx);
    if (material && material->size() >= kKeyBytes) {
      SecretBytes key(material->substr(0, kKeyBytes));
      control =
          open(key, sealed, blob_ctx).ok() &&
          header_like_prefix(sealed, reinterpret_cast<const unsigned char*>(key.bytes().data()));
    }
  }

  std::size_t files = 0, bytes = 0, windows = 0, opened = 0, candidates = 0;
  std::string opened_at;
  for (const auto& e : std::filesystem::recursive_directory_iterator(
           dir, std::filesystem::directory_options::skip_permission_denied)) {
    if (!e.is_regular_file()) continue;
    const std::string data = slurp(e.path());
    ++files;
    bytes += data.size();
    for (std::size_t off = 0; off + 16 <= data.size(); ++off) {
      const auto* p = reinterpret_cast<const unsigned char*>(data.data() + off);
      bool hit = false;
      SecretBytes s16(data.substr(off, 16));
      hit |= open(derive_kek(s16, id), wrapped, keys_ctx).ok();
      ++windows;
      if (off + 32 <= data.size()) {
        SecretBytes s32(data.substr(off, 32));
        hit |= open(s32, wrapped, keys_ctx).ok();
        hit |= open(derive_kek(s32, id), wrapped, keys_ctx).ok();
        if (header_like_prefix(sealed, p)) {
          ++candidates;
          hit |= open(s32, sealed, blob_ctx).ok();
        }
        ++windows;
      }
      if (hit) {
        ++opened;
        if (opened_at.empty()) opened_at = e.path().string() + "@" + std::to_string(off);
      }
    }
  }
  std::printf(
      "{\"files\": %zu, \"bytes\": %zu, \"windows\": %zu, \"prefix_candidates\": %zu, "
      "\"opened\": %zu, \"opened_at\": \"%s\", \"control\": %s}\n",
      files, bytes, windows, candidates, opened, opened_at.c_str(), control ? "true" : "false");
  return opened == 0 && control ? 0 : 1;
}
