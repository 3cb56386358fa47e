#include "imap/smime_signed.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <strings.h>

#include <cctype>
#include <vector>

#include "imap/header_fields.h"
#include "keystore/address_match.h"
#include "seal/crlf.h"
#include "seal/gmime_ptr.h"

namespace sealpost::imap {
namespace {

constexpr std::size_t kMaxContent = 64u << 20;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

struct ContentType {
  std::string type, subtype;
  std::string boundary, protocol, smime_type;
};

std::optional<ContentType> content_type(const std::vector<HeaderField>& fields) {
  const std::string value = header_value(fields, "Content-Type");
  if (value.empty()) return std::nullopt;
  seal::ensure_gmime();
  seal::GPtr<GMimeContentType> ct(g_mime_content_type_parse(nullptr, value.c_str()));
  if (!ct) return std::nullopt;
  auto get = [&](const char* name) {
    const char* v = g_mime_content_type_get_parameter(ct.get(), name);
    return std::string(v ? v : "");
  };
  ContentType out;
  const char* t = g_mime_content_type_get_media_type(ct.get());
  const char* s = g_mime_content_type_get_media_subtype(ct.get());
  out.type = t ? t : "";
  out.subtype = s ? s : "";
  out.boundary = get("boundary");
  out.protocol = get("protocol");
  out.smime_type = get("smime-type");
  return out;
}

// Base64 (line breaks and other whitespace ignored) or the bytes as they are.
std::optional<std::string> decode_body(const std::vector<HeaderField>& fields,
                                       const std::string& body) {
  const std::string cte = header_value(fields, "Content-Transfer-Encoding");
  if (cte.empty() || iequals(cte, "binary") || iequals(cte, "7bit") || iequals(cte, "8bit"))
    return body;
  if (!iequals(cte, "base64")) return std::nullopt;
  std::string clean;
  for (char c : body)
    if (!std::isspace(static_cast<unsigned char>(c))) clean += c;
  std::string out(clean.size() / 4 * 3 + 3, '\0');
  EVP_ENCODE_CTX* ctx = EVP_ENCODE_CTX_new();
  if (!ctx) return std::nullopt;
  EVP_DecodeInit(ctx);
  int n = 0, tail = 0;
  const int ok = EVP_DecodeUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &n,
                                  reinterpret_cast<const unsigned char*>(clean.data()),
                                  static_cast<int>(clean.size()));
  const int fin = EVP_DecodeFinal(ctx, reinterpret_cast<unsigned char*>(out.data()) + n, &tail);
  EVP_ENCODE_CTX_free(ctx);
  if (ok < 0 || fin != 1) return std::nullopt;
  out.resize(static_cast<std::size_t>(n + tail));
  return out;
}

// The body parts of a multipart (RFC 2046 §5.1.1): the line break before a
// delimiter belongs to the delimiter, so each part is exactly what was signed.
std::vector<std::string_view> body_parts(std::string_view body, const std::string& boundary) {
  std::vector<std::string_view> parts;
  const std::string dash = "--" + boundary;
  std::size_t part_start = std::string_view::npos;
  for (std::size_t pos = 0; (pos = body.find(dash, pos)) != std::string_view::npos;
       pos += dash.size()) {
    if (pos != 0 && body[pos - 1] != '\n') continue;
    const std::size_t after = pos + dash.size();
    const bool closing = body.substr(after, 2) == "--";
    std::size_t eol = body.find('\n', after);
    // Only transport padding may follow the boundary on its line.
    const std::string_view rest =
        body.substr(after + (closing ? 2 : 0), (eol == std::string_view::npos ? body.size() : eol) -
                                                   after - (closing ? 2 : 0));
    if (rest.find_first_not_of(" \t\r") != std::string_view::npos) continue;
    if (part_start != std::string_view::npos) {
      std::size_t end = pos;
      if (end > part_start && body[end - 1] == '\n') --end;
      if (end > part_start && body[end - 1] == '\r') --end;
      parts.push_back(body.substr(part_start, end - part_start));
    }
    if (closing) return parts;
    if (eol == std::string_view::npos) return {};  // no closing delimiter: not trusted
    part_start = eol + 1;
  }
  return {};  // never closed
}

bool is_pkcs7(const ContentType& ct, const char* subtype) {
  return iequals(ct.type, "application") &&
         (iequals(ct.subtype, subtype) || iequals(ct.subtype, std::string("x-") + subtype));
}

}  // namespace

std::optional<SmimeSignature> find_smime_signature(std::string_view entity) {
  const SplitEntity e = split_entity(entity);
  auto ct = content_type(e.fields);
  if (!ct) return std::nullopt;
  SmimeSignature sig;
  if (iequals(ct->type, "multipart") && iequals(ct->subtype, "signed")) {
    if (!iequals(ct->protocol, "application/pkcs7-signature") &&
        !iequals(ct->protocol, "application/x-pkcs7-signature"))
      return std::nullopt;
    if (ct->boundary.empty()) return std::nullopt;
    auto parts = body_parts(e.body, ct->boundary);
    if (parts.size() != 2) return std::nullopt;
    const SplitEntity signature = split_entity(parts[1]);
    auto sct = content_type(signature.fields);
    if (!sct || !is_pkcs7(*sct, "pkcs7-signature")) return std::nullopt;
    auto der = decode_body(signature.fields, signature.body);
    if (!der) return std::nullopt;
    sig.detached = true;
    sig.content = std::string(parts[0]);
    sig.der = std::move(*der);
    return sig;
  }
  if (is_pkcs7(*ct, "pkcs7-mime") && iequals(ct->smime_type, "signed-data")) {
    auto der = decode_body(e.fields, e.body);
    if (!der) return std::nullopt;
    sig.der = std::move(*der);
    return sig;
  }
  return std::nullopt;
}

namespace {

// CMS_verify on the signature alone (CMS_NO_SIGNER_CERT_VERIFY: the chain is
// checked afterwards against our anchors, with the S/MIME signing purpose).
// Detached content is tried as sent and then with canonical CRLF, because
// signers canonicalise text before signing and a decrypted copy may not be.
bool verify_cms(CMS_ContentInfo* cms, const SmimeSignature& sig, std::string& content) {
  const unsigned flags = CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY;
  if (!sig.detached) {
    ossl::BioPtr out(BIO_new(BIO_s_mem()));
    const bool ok = CMS_verify(cms, nullptr, nullptr, nullptr, out.get(), flags) == 1;
    char* p = nullptr;
    const long n = BIO_get_mem_data(out.get(), &p);
    if (ok && n >= 0 && static_cast<std::size_t>(n) <= kMaxContent)
      content.assign(p, static_cast<std::size_t>(n));
    return ok && !content.empty();
  }
  const std::string canonical = seal::canonical_crlf(sig.content);
  for (const std::string* candidate : {&sig.content, &canonical}) {
    if (candidate == &canonical && canonical == sig.content) break;
    auto in = ossl::mem_bio(*candidate);
    if (CMS_verify(cms, nullptr, nullptr, in.get(), nullptr, flags) == 1) {
      content = sig.content;
      return true;
    }
  }
  return false;
}

// The content of opaque signed-data whose signature did not check out: staff
// still get to read it, marked invalid.
std::string unverified_content(CMS_ContentInfo* cms) {
  ASN1_OCTET_STRING** pos = CMS_get0_content(cms);
  if (!pos || !*pos) return {};
  const int n = ASN1_STRING_length(*pos);
  if (n <= 0 || static_cast<std::size_t>(n) > kMaxContent) return {};
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*pos)),
                     static_cast<std::size_t>(n));
}

}  // namespace

SmimeVerified smime_verify(keystore::SmimeStore& store, const SmimeSignature& sig,
                           const std::string& from) {
  SmimeVerified v;
  v.facts.sender = from;
  v.facts.certificate = true;
  v.content = sig.content;
  auto in = ossl::mem_bio(sig.der);
  ossl::CmsPtr cms(d2i_CMS_bio(in.get(), nullptr));
  if (!cms || OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) {
    ERR_clear_error();
    v.facts.kind = SignatureFacts::Kind::Bad;
    return v;
  }
  STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms.get());
  const int signers = infos ? sk_CMS_SignerInfo_num(infos) : 0;
  if (!sig.detached) v.content = unverified_content(cms.get());
  if (signers == 0) return v;  // "none": a certificate bundle, not a signature
  std::string verified;
  if (signers != 1 || !verify_cms(cms.get(), sig, verified)) {
    // One signer is what mail clients make; several would need a verdict each.
    const unsigned long err = ERR_peek_last_error();
    ERR_clear_error();
    v.facts.kind = ERR_GET_REASON(err) == CMS_R_SIGNER_CERTIFICATE_NOT_FOUND
                       ? SignatureFacts::Kind::NoPublicKey
                       : SignatureFacts::Kind::Bad;
    return v;
  }
  v.content = std::move(verified);
  // Valid only after CMS_verify: the certificate whose key made the signature.
  STACK_OF(X509)* found = CMS_get0_signers(cms.get());
  X509* signer = found && sk_X509_num(found) == 1 ? sk_X509_value(found, 0) : nullptr;
  if (signer) X509_up_ref(signer);
  sk_X509_free(found);
  if (!signer) {
    v.facts.kind = SignatureFacts::Kind::NoPublicKey;
    return v;
  }
  v.signer = ossl::SharedX509(signer, X509_free);
  const keystore::SmimeCert desc = keystore::SmimeStore::describe(v.signer);
  v.facts.fingerprint = desc.id;
  for (const auto& a : desc.addresses)
    if (keystore::address_matches(a, from)) v.facts.belongs_to_sender = true;
  ossl::X509StackPtr carried(CMS_get1_certs(cms.get()));
  ossl::X509StackPtr chain;
  const std::string why = store.verify_signer(signer, carried.get(), &chain);
  if (!why.empty()) {
    v.facts.kind = SignatureFacts::Kind::Untrusted;
    v.facts.detail = why;
    return v;
  }
  v.facts.kind = SignatureFacts::Kind::Good;
  v.chain = std::move(chain);
  return v;
}

}  // namespace sealpost::imap
