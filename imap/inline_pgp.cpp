#include "imap/inline_pgp.h"

#include "seal/gmime_ptr.h"

namespace sealpost::imap {
namespace {

constexpr std::string_view kBegin = "-----BEGIN PGP MESSAGE-----";
constexpr std::string_view kEnd = "-----END PGP MESSAGE-----";

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

bool is_inline_pgp_message(std::string_view text) {
  const std::string_view t = trim(text);
  if (t.size() < kBegin.size() + kEnd.size()) return false;
  if (t.substr(0, kBegin.size()) != kBegin || t.substr(t.size() - kEnd.size()) != kEnd)
    return false;
  // Exactly one armor block: a second BEGIN would be a concatenation.
  return t.find(kBegin, 1) == std::string_view::npos && t.find(kEnd) == t.size() - kEnd.size();
}

std::string inline_plaintext_entity(const std::string& plaintext, const std::string& charset) {
  seal::ensure_gmime();
  // LF inside, CRLF on output: the quoted-printable encoder would otherwise
  // turn each CR into "=0D".
  std::string text;
  text.reserve(plaintext.size());
  for (std::size_t i = 0; i < plaintext.size(); ++i)
    if (!(plaintext[i] == '\r' && i + 1 < plaintext.size() && plaintext[i + 1] == '\n'))
      text += plaintext[i];
  seal::GPtr<GMimePart> part(g_mime_part_new_with_type("text", "plain"));
  g_mime_object_set_content_type_parameter(GMIME_OBJECT(part.get()), "charset",
                                           charset.empty() ? "utf-8" : charset.c_str());
  seal::GPtr<GMimeStream> mem(g_mime_stream_mem_new_with_buffer(text.data(), text.size()));
  seal::GPtr<GMimeDataWrapper> wrapper(
      g_mime_data_wrapper_new_with_stream(mem.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(part.get(), wrapper.get());
  g_mime_part_set_content_encoding(part.get(), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  return seal::to_crlf_string(GMIME_OBJECT(part.get()));
}

}  // namespace sealpost::imap
