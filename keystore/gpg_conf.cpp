#include "keystore/gpg_conf.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <string_view>

#include "common/durable_file.h"

namespace sealpost::keystore {
namespace {

constexpr std::string_view kBegin =
    "# --- Sealpost managed settings: rewritten whenever Sealpost opens this home; "
    "add your own lines above ---";
constexpr std::string_view kEnd = "# --- end of Sealpost managed settings ---";
constexpr std::string_view kDisabled =
    "# disabled by Sealpost (weakens encryption or signature checks, or breaks "
    "readers such as GnuPG 2.2 and Sequoia): ";

// no-random-seed-file: daemon workers and the CLI share the home and would
// serialise on the seed file's lock. The preferences make gpg choose AES-256
// and SHA-512 whenever the recipient key lists them at all (every OpenPGP
// implementation must read AES-128; RFC 4880 §13.2 makes 3DES the implicit
// fallback only when nothing better is listed).
constexpr std::string_view kManaged =
    "no-random-seed-file\n"
    "personal-cipher-preferences AES256 AES192 AES\n"
    "personal-digest-preferences SHA512 SHA384 SHA256\n"
    "personal-compress-preferences ZLIB ZIP Uncompressed\n";

// Options that would override the managed block, produce packets other
// readers refuse, or undo a check Sealpost relies on: forced (weak) ciphers
// and digests, non-MDC RFC 2440/PGP 2-8 modes, AEAD/OCB packets (GnuPG 2.3+)
// that GnuPG 2.2 and sq 0.27 cannot decrypt, decrypting despite a missing or
// bad MDC (EFAIL), accepting SHA-1/MD5 signatures or signing subkeys without
// a back-signature, and keys fetched or imported behind the keystore's back
// (no provenance, so never vetted).
constexpr std::array<std::string_view, 30> kRisky = {
    "cipher-algo",
    "digest-algo",
    "cert-digest-algo",
    "personal-cipher-preferences",
    "personal-digest-preferences",
    "force-aead",
    "force-ocb",
    "personal-compress-preferences",
    "rfc2440",
    "rfc1991",
    "rfc4880bis",
    "pgp2",
    "pgp6",
    "pgp7",
    "pgp8",
    "disable-mdc",
    "ignore-mdc-error",
    "allow-old-cipher-algos",
    "allow-weak-digest-algos",
    "allow-weak-key-signatures",
    "no-require-cross-certification",
    "ignore-time-conflict",
    "ignore-valid-from",
    "ignore-crc-error",
    "auto-key-retrieve",
    "auto-key-import",
    "auto-key-locate",
    "keyserver-options",
    "compliance",
    "personal-aead-preferences",
};

std::string option_name(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
  while (i < line.size() && line[i] == '-') ++i;  // "--cipher-algo" is accepted as well
  std::string name;
  while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i])))
    name += static_cast<char>(std::tolower(static_cast<unsigned char>(line[i++])));
  return name;
}

bool risky(std::string_view line) {
  const std::string name = option_name(line);
  if (name.empty() || name[0] == '#') return false;
  if (name == "compliance") {
    // Only the modes that keep MDC and our preferences may stay.
    std::string value(line.substr(line.find("compliance") + 10));
    value.erase(std::remove_if(value.begin(), value.end(),
                               [](unsigned char c) { return std::isspace(c) != 0; }),
                value.end());
    return value != "gnupg" && value != "openpgp" && value != "rfc4880" && value != "de-vs";
  }
  // gpg's option parser also takes an unambiguous abbreviation
  // ("ignore-mdc" for ignore-mdc-error), in gpg.conf as on the command line;
  // `keyserver` is an option of its own (harmless without auto-key-retrieve).
  const bool own_option = name == "keyserver";
  return std::any_of(kRisky.begin(), kRisky.end(), [&](std::string_view r) {
    return r == name || (!own_option && name.size() >= 3 && r.substr(0, name.size()) == name);
  });
}

}  // namespace

std::string managed_gpg_conf(const std::string& existing) {
  std::string out;
  bool inside = false;
  std::size_t pos = 0;
  while (pos < existing.size()) {
    std::size_t eol = existing.find('\n', pos);
    if (eol == std::string::npos) eol = existing.size();
    std::string_view line(existing.data() + pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == kBegin) {
      inside = true;
      continue;
    }
    if (line == kEnd) {
      inside = false;
      continue;
    }
    if (inside) continue;  // our own old block: written afresh below
    if (risky(line))
      out.append(kDisabled).append(line);
    else
      out.append(line);
    out += '\n';
  }
  out.append(kBegin).append("\n").append(kManaged).append(kEnd).append("\n");
  return out;
}

Result<void> refresh_gpg_conf(const std::string& path) {
  std::string existing;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    auto data = read_file(path, 1u << 20);
    if (!data) return data.error();
    existing = std::move(*data);
  }
  const std::string wanted = managed_gpg_conf(existing);
  if (wanted == existing) return {};
  return write_file_durable(path, wanted, 0600);
}

}  // namespace sealpost::keystore
