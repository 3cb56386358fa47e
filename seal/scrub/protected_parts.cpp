#include "seal/scrub/protected_parts.h"

#include <openssl/cms.h>
#include <openssl/objects.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string>

#include "seal/ciphertext_shape.h"
#include "seal/part_content.h"

namespace sealpost::scrub {
namespace {

struct CmsFree {
  void operator()(CMS_ContentInfo* c) const { CMS_ContentInfo_free(c); }
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Signature packets only, at least one. They may not use partial lengths
// (RFC 9580 4.2.1.4), so those are refused, and so is an indeterminate one.
bool is_signature_packets(std::string_view p) {
  std::size_t pos = 0;
  int signatures = 0;
  while (pos < p.size()) {
    const auto pk = seal::read_openpgp_packet(p, pos);
    if (!pk || pk->partial || pk->indeterminate || pk->tag != 2 || pk->end - pk->body < 10)
      return false;
    const auto version = static_cast<unsigned char>(p[pk->body]);
    if (version < 3 || version > 6) return false;
    pos = pk->end;
    ++signatures;
  }
  return signatures > 0;
}

GMimePart* leaf_at(GMimeMultipart* mp, int i) {
  GMimeObject* o = g_mime_multipart_get_part(mp, i);
  return o && GMIME_IS_PART(o) ? GMIME_PART(o) : nullptr;
}

std::string param(GMimeObject* obj, const char* name) {
  const char* v = g_mime_content_type_get_parameter(g_mime_object_get_content_type(obj), name);
  return v ? lower(trim(v)) : std::string();
}

}  // namespace

bool is_openpgp_signature(std::string_view body) {
  constexpr std::string_view kBegin = "-----BEGIN PGP SIGNATURE-----";
  constexpr std::string_view kEnd = "-----END PGP SIGNATURE-----";
  const std::string_view t = trim(body);
  if (t.starts_with(kBegin) && t.ends_with(kEnd) && t.size() >= kBegin.size() + kEnd.size()) {
    // The armor is the same as a message's apart from its label: let the
    // project's strict dearmoring (headers, base64, CRC line) do the work.
    std::string relabelled = "-----BEGIN PGP MESSAGE-----";
    relabelled += t.substr(kBegin.size(), t.size() - kBegin.size() - kEnd.size());
    relabelled += "-----END PGP MESSAGE-----";
    const auto binary = seal::dearmor_pgp_message(relabelled);
    return binary && is_signature_packets(*binary);
  }
  return is_signature_packets(body);
}

bool is_cms_signed(std::string_view der, bool detached) {
  if (der.empty() || der.size() > (std::size_t{1} << 30)) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const auto* const start = p;
  std::unique_ptr<CMS_ContentInfo, CmsFree> cms(
      d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!cms || static_cast<std::size_t>(p - start) != der.size()) return false;
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) return false;
  STACK_OF(CMS_SignerInfo)* signers = CMS_get0_SignerInfos(cms.get());
  if (!signers || sk_CMS_SignerInfo_num(signers) < 1) return false;
  return (CMS_is_detached(cms.get()) == 1) == detached;
}

bool is_intact_signed(GMimeObject* obj, std::size_t cap) {
  if (!GMIME_IS_MULTIPART(obj)) return false;
  GMimeMultipart* mp = GMIME_MULTIPART(obj);
  if (g_mime_multipart_get_count(mp) != 2) return false;
  GMimePart* sig = leaf_at(mp, 1);
  if (!sig || !g_mime_multipart_get_part(mp, 0)) return false;
  // RFC 1847: the protocol parameter names the signature part's type.
  const std::string protocol = param(obj, "protocol");
  GMimeContentType* ct = g_mime_object_get_content_type(GMIME_OBJECT(sig));
  const char* type = g_mime_content_type_get_media_type(ct);
  const char* sub = g_mime_content_type_get_media_subtype(ct);
  if (!type || !sub || protocol != lower(std::string(type) + "/" + sub)) return false;
  std::string body;
  if (!seal::read_decoded(sig, cap, body)) return false;
  if (protocol == "application/pgp-signature") return is_openpgp_signature(body);
  if (protocol == "application/pkcs7-signature" || protocol == "application/x-pkcs7-signature")
    return is_cms_signed(body, true);
  return false;
}

bool is_real_ciphertext(GMimeObject* obj, std::size_t cap) {
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  if (!ct) return false;
  if (g_mime_content_type_is_type(ct, "multipart", "encrypted")) {
    if (!GMIME_IS_MULTIPART(obj) || param(obj, "protocol") != "application/pgp-encrypted")
      return false;
    GMimeMultipart* mp = GMIME_MULTIPART(obj);
    if (g_mime_multipart_get_count(mp) != 2) return false;
    GMimePart* control = leaf_at(mp, 0);
    GMimePart* data = leaf_at(mp, 1);
    if (!control || !data ||
        !g_mime_content_type_is_type(g_mime_object_get_content_type(GMIME_OBJECT(control)),
                                     "application", "pgp-encrypted"))
      return false;
    std::string version, body;
    return seal::read_decoded(control, 4096, version) &&
           version.find("Version: 1") != std::string::npos && seal::read_decoded(data, cap, body) &&
           seal::is_openpgp_ciphertext(body);
  }
  if (g_mime_content_type_is_type(ct, "application", "pkcs7-mime") ||
      g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime")) {
    if (!GMIME_IS_PART(obj)) return false;
    std::string der;
    if (!seal::read_decoded(GMIME_PART(obj), cap, der)) return false;
    return seal::is_cms_enveloped(der) || is_cms_signed(der, false);
  }
  return false;
}

}  // namespace sealpost::scrub
