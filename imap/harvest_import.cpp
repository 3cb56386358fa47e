#include "imap/harvest_import.h"

#include <cctype>

#include "keystore/address_match.h"
#include "keystore/gpgme_ptr.h"

namespace sealpost::imap {
namespace {

Error refused(std::string reason) {
  return Error::plain(std::move(reason));
}

// Everything left on the stored key must be the sender's: returns why not ("" = fine).
std::string check_stored(gpgme_key_t key, const std::string& address) {
  if (key->secret) return "secret key material was imported";
  for (gpgme_user_id_t u = key->uids; u; u = u->next) {
    // Revoked or not, a user id for another address has no business here.
    if (!u->email || !keystore::address_matches(u->email, address))
      return std::string("user id for another address survived the import: ") +
             (u->uid ? u->uid : "(none)");
  }
  std::string uid;
  std::int64_t expires = 0;
  return keystore::pgp_key_unusable_reason(key, address, uid, expires);
}

Result<gpg::KeyPtr> get_key(keystore::PgpKeyring& keyring, const std::string& fingerprint,
                            bool& found) {
  found = false;
  auto ctx = keyring.new_context();
  if (!ctx) return ctx.error();
  gpgme_key_t raw = nullptr;
  const gpgme_error_t err = gpgme_get_key(ctx->get(), fingerprint.c_str(), &raw, 0);
  if (gpgme_err_code(err) == GPG_ERR_EOF) return gpg::KeyPtr();
  if (err) return Error::plain(gpg::describe("get key", err));
  found = raw != nullptr;
  return gpg::KeyPtr(raw);
}

}  // namespace

bool harvestable_address(std::string_view address) {
  const auto at = address.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size() ||
      address.find('@', at + 1) != std::string_view::npos)
    return false;
  for (unsigned char c : address) {
    if (std::isalnum(c)) continue;
    // RFC 5322 atext minus the characters gpg's filter syntax gives a meaning
    // ('&', '|', '!', '=', '<', '>', '~' in operators) and '\''/'`'/'#'/'$'
    // that nothing legitimate needs here.
    if (c == '.' || c == '-' || c == '_' || c == '+' || c == '@' || c == '%' || c == '/' ||
        c == '^' || c == '{' || c == '}' || c == '?' || c == '*')
      continue;
    return false;
  }
  return true;
}

Result<bool> keyring_has(keystore::PgpKeyring& keyring, const std::string& fingerprint) {
  bool found = false;
  auto key = get_key(keyring, fingerprint, found);
  if (!key) return key.error();
  return found;
}

Result<std::string> import_for_address(keystore::PgpKeyring& keyring, const std::string& keydata,
                                       const std::string& address) {
  if (!harvestable_address(address)) return refused("address not usable in an import filter");
  gpg::ensure_initialised();
  auto ctx = keyring.new_context();
  if (!ctx) return ctx.error();
  // gpg --import-filter keep-uid=...: user ids of other addresses (and name-only
  // ones) never reach the keyring. "=" compares case-insensitively; the exact
  // local-part rule is enforced on the stored key below.
  const std::string filter = "keep-uid=mbox = " + address;
  if (auto err = gpgme_set_ctx_flag(ctx->get(), "import-filter", filter.c_str()))
    return Error::plain(gpg::describe("import filter unsupported", err));
  gpgme_data_t raw = nullptr;
  if (auto err = gpgme_data_new_from_mem(&raw, keydata.data(), keydata.size(), 0))
    return Error::plain(gpg::describe("gpgme_data_new", err));
  gpg::DataPtr in(raw);
  if (auto err = gpgme_op_import(ctx->get(), in.get()))
    return Error::plain(gpg::describe("import", err));
  gpgme_import_result_t res = gpgme_op_import_result(ctx->get());
  if (!res) return refused("import gave no result");
  std::string fpr;
  for (gpgme_import_status_t s = res->imports; s; s = s->next)
    if (s->result == GPG_ERR_NO_ERROR && s->fpr && (s->status & GPGME_IMPORT_NEW)) fpr = s->fpr;
  if (fpr.empty() || res->imported != 1)
    return refused("no user id for " + address + " survived the import");

  // Belt and braces: whatever gpg kept is checked again, and the key goes
  // away unless it is exactly the sender's, usable key.
  bool found = false;
  auto stored = get_key(keyring, fpr, found);
  std::string problem;
  if (!stored)
    problem = stored.error().what();
  else if (!found)
    problem = "imported key not found in the keyring";
  else
    problem = check_stored(stored->get(), address);
  if (res->secret_read > 0) problem = "keydata holds secret key material";
  if (problem.empty()) return fpr;
  auto removed = keyring.remove(fpr);
  if (!removed) problem += "; removing it again failed: " + removed.error().what();
  return refused(problem);
}

}  // namespace sealpost::imap
