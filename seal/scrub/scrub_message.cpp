// Walks the MIME tree: headers and Message-ID on the top-level message and on
// attached messages, boundaries of multiparts we re-serialise, metadata of
// image/PDF/Office attachments, remote content in HTML. Signed or encrypted
// subtrees are not entered (changing a byte breaks them) when, and only when,
// their structure shows a real signature or ciphertext.
#include <cctype>
#include <sstream>
#include <string_view>

#include "common/secure_random.h"
#include "seal/gmime_ptr.h"
#include "seal/part_content.h"
#include "seal/scrub/attachment_cleaners.h"
#include "seal/scrub/content_sniff.h"
#include "seal/scrub/header_scrub.h"
#include "seal/scrub/html_scrub.h"
#include "seal/scrub/protected_parts.h"
#include "seal/scrub/scrub.h"

namespace sealpost::scrub {
namespace {

using seal::GPtr;

enum class Kind { Other, Image, Pdf, Html, Office, Tnef };

bool iends_with(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  s.remove_prefix(s.size() - suffix.size());
  for (std::size_t i = 0; i < suffix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != suffix[i]) return false;
  return true;
}

// What the label (Content-Type, file name) says the part is.
Kind labelled_kind(GMimePart* part) {
  GMimeContentType* ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
  if (!ct) return Kind::Other;
  if (g_mime_content_type_is_type(ct, "image", "jpeg") ||
      g_mime_content_type_is_type(ct, "image", "jpg") ||
      g_mime_content_type_is_type(ct, "image", "png") ||
      g_mime_content_type_is_type(ct, "image", "tiff") ||
      g_mime_content_type_is_type(ct, "image", "webp"))
    return Kind::Image;
  if (g_mime_content_type_is_type(ct, "application", "pdf")) return Kind::Pdf;
  if (g_mime_content_type_is_type(ct, "text", "html") ||
      g_mime_content_type_is_type(ct, "application", "xhtml+xml") ||
      g_mime_content_type_is_type(ct, "image", "svg+xml"))
    return Kind::Html;
  if (g_mime_content_type_is_type(ct, "application", "ms-tnef") ||
      g_mime_content_type_is_type(ct, "application", "vnd.ms-tnef"))
    return Kind::Tnef;
  const char* sub = g_mime_content_type_get_media_subtype(ct);
  if (g_mime_content_type_is_type(ct, "application", "*") && sub &&
      std::string_view(sub).starts_with("vnd.openxmlformats-officedocument."))
    return Kind::Office;
  // A browser opens these by name whatever the Content-Type says.
  if (const char* name = g_mime_part_get_filename(part))
    for (std::string_view ext : {".htm", ".html", ".xhtml", ".shtml", ".svg"})
      if (iends_with(name, ext)) return Kind::Html;
  return Kind::Other;
}

// A text/plain or text/html body a mail client shows inline: no file name,
// not an attachment. Everything else is a file and is sniffed as one.
bool is_body_text(GMimePart* part) {
  GMimeContentType* ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
  if (!ct || !(g_mime_content_type_is_type(ct, "text", "plain") ||
               g_mime_content_type_is_type(ct, "text", "html")))
    return false;
  return !g_mime_part_get_filename(part) && !g_mime_part_is_attachment(part);
}

bool is_text_plain(GMimePart* part) {
  GMimeContentType* ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
  return ct && g_mime_content_type_is_type(ct, "text", "plain");
}

void replace_content(GMimePart* part, const std::string& bytes,
                     GMimeContentEncoding encoding = GMIME_CONTENT_ENCODING_BASE64) {
  GPtr<GMimeStream> mem(g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
  GPtr<GMimeDataWrapper> wrapper(
      g_mime_data_wrapper_new_with_stream(mem.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(part, wrapper.get());  // takes its own reference
  g_mime_part_set_content_encoding(part, encoding);
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// Only a text/plain body that *is* one armored block is left alone: a quoted
// "-----BEGIN PGP MESSAGE-----" line must not switch scrubbing off.
bool is_inline_pgp(GMimePart* part, std::size_t cap) {
  if (!is_text_plain(part)) return false;
  std::string text;
  if (!seal::read_decoded(part, cap, text)) return false;
  const std::string_view t = trim(text);
  return (t.starts_with("-----BEGIN PGP MESSAGE-----") &&
          t.ends_with("-----END PGP MESSAGE-----")) ||
         (t.starts_with("-----BEGIN PGP SIGNED MESSAGE-----") &&
          t.ends_with("-----END PGP SIGNATURE-----"));
}

class Walker {
 public:
  Walker(const ScrubProfile& profile, const ScrubContext& ctx, ScrubReport& report,
         std::string practice_domain)
      : profile_(profile),
        ctx_(ctx),
        report_(report),
        practice_domain_(std::move(practice_domain)) {}

  void walk(GMimeObject* obj, int depth) {
    if (!obj) return;
    if (depth > kMaxDepth) {
      hold_or_pass("mime: nesting too deep");
      return;
    }
    // Left alone only when a real signature / ciphertext is there; a label
    // without one is scrubbed like any other multipart or part.
    if ((GMIME_IS_MULTIPART_SIGNED(obj) && is_intact_signed(obj, ctx_.max_attachment_bytes)) ||
        is_real_ciphertext(obj, ctx_.max_attachment_bytes)) {
      report_.inner_untouched = true;
      return;
    }
    if (GMIME_IS_MULTIPART(obj)) {
      GMimeMultipart* mp = GMIME_MULTIPART(obj);
      // Client boundaries sometimes embed the workstation's hostname. Ours
      // come from libsodium: GMime's own opens /dev/urandom for every one.
      g_mime_multipart_set_boundary(mp, ("=-sealpost-" + random_token(12)).c_str());
      ++report_.boundaries_regenerated;
      const int n = g_mime_multipart_get_count(mp);
      for (int i = 0; i < n; ++i) walk(g_mime_multipart_get_part(mp, i), depth + 1);
      return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
      GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
      if (!inner) return;
      // A forwarded internal mail carries the same Received lines, client
      // names and workstation ids as the outer one. From/To/Date/Subject stay:
      // they are what the sender forwards on purpose.
      report_.attached_headers_removed += remove_headers(GMIME_OBJECT(inner), profile_);
      if (profile_.rewrite_message_id) scrub_message_id(inner, ctx_, report_, practice_domain_);
      walk(g_mime_message_get_mime_part(inner), depth + 1);
      return;
    }
    if (GMIME_IS_PART(obj)) leaf(GMIME_PART(obj));
  }

 private:
  static constexpr int kMaxDepth = 32;

  void leaf(GMimePart* part) {
    Kind kind = labelled_kind(part);
    if (!refine_by_content(part, kind)) return;
    switch (kind) {
      case Kind::Html:
        if (profile_.html_remote_content) html(part);
        return;
      case Kind::Tnef:
        // winmail.dat holds the Outlook sender's properties and the real
        // attachments, none of which can be cleaned here.
        if (profile_.image_metadata || profile_.pdf_metadata || profile_.office_metadata)
          hold_or_pass("tnef: Outlook winmail.dat cannot be cleaned");
        return;
      case Kind::Other:
        if (is_inline_pgp(part, ctx_.max_attachment_bytes)) report_.inner_untouched = true;
        return;
      case Kind::Image:
      case Kind::Pdf:
      case Kind::Office:
        break;
    }
    if ((kind == Kind::Image && !profile_.image_metadata) ||
        (kind == Kind::Pdf && !profile_.pdf_metadata) ||
        (kind == Kind::Office && !profile_.office_metadata))
      return;
    const char* what = kind == Kind::Image ? "image" : kind == Kind::Pdf ? "pdf" : "office";
    std::string bytes;
    if (!seal::read_decoded(part, ctx_.max_attachment_bytes, bytes)) {
      hold_or_pass(std::string(what) + ": too large or undecodable");
      return;
    }
    auto cleaned = kind == Kind::Image ? clean_image_metadata(bytes)
                   : kind == Kind::Pdf ? clean_pdf_metadata(bytes)
                                       : clean_office_metadata(bytes);
    if (!cleaned) {
      hold_or_pass(cleaned.error().what());
      return;
    }
    replace_content(part, *cleaned);
    ++(kind == Kind::Image ? report_.images_cleaned
       : kind == Kind::Pdf ? report_.pdfs_cleaned
                           : report_.office_cleaned);
  }

  // The declared type can lie or be generic: the first bytes decide, for
  // every leaf, text/* included (a photo sent as "text/plain; name=x.jpg"
  // still carries its GPS). Returns false when the part was dealt with here
  // (held or passed as unscrubbable).
  bool refine_by_content(GMimePart* part, Kind& kind) {
    std::string head;
    if (!seal::read_decoded_head(part, 4096, head)) return true;
    switch (sniff_content(head)) {
      case Sniffed::Jpeg:
      case Sniffed::Png:
      case Sniffed::Tiff:
      case Sniffed::Webp:
        kind = Kind::Image;
        break;
      case Sniffed::Pdf:
        kind = Kind::Pdf;
        break;
      case Sniffed::Ooxml:
        kind = Kind::Office;
        break;
      case Sniffed::Tnef:
        kind = Kind::Tnef;
        break;
      case Sniffed::Html:
        // A text/plain body that starts with "<p>" is shown as text; any
        // file that is markup opens in a browser and fetches.
        if (!(is_body_text(part) && is_text_plain(part))) kind = Kind::Html;
        break;
      case Sniffed::Zip: {
        if (kind == Kind::Office) break;
        // OOXML from some writers lists [Content_Types].xml later: look at
        // the whole archive (bounded) before calling it an ordinary ZIP.
        std::string all;
        if (seal::read_decoded(part, ctx_.max_attachment_bytes, all) &&
            all.find("[Content_Types].xml") != std::string::npos &&
            all.find("docProps/") != std::string::npos)
          kind = Kind::Office;
        break;
      }
      case Sniffed::Heif:
        // iPhone photos: EXIF with GPS inside, and no cleaner for BMFF here.
        if (!profile_.image_metadata) return false;
        hold_or_pass("image: HEIC/HEIF/AVIF metadata cannot be removed");
        return false;
      case Sniffed::Gif:
        kind = Kind::Other;  // no standard GPS/author fields
        break;
      case Sniffed::Unknown:
        break;
    }
    return true;
  }

  void html(GMimePart* part) {
    std::string bytes;
    if (!seal::read_decoded(part, ctx_.max_attachment_bytes, bytes)) {
      hold_or_pass("html: too large or undecodable");
      return;
    }
    HtmlScrubResult cleaned = scrub_html(bytes);
    if (cleaned.remote_removed == 0) return;  // leave the part exactly as sent
    // Bytes keep the part's charset: edits only remove or insert ASCII.
    replace_content(part, cleaned.html, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
    report_.html_remote_removed += cleaned.remote_removed;
  }

  void hold_or_pass(std::string reason) {
    if (profile_.pass_unscrubbable)
      ++report_.unscrubbable_passed;
    else
      report_.held.push_back(std::move(reason));
  }

  const ScrubProfile& profile_;
  const ScrubContext& ctx_;
  ScrubReport& report_;
  const std::string practice_domain_;
};

}  // namespace

std::string ScrubReport::summary() const {
  std::ostringstream out;
  out << "headers_removed=" << headers_removed
      << " attached_headers_removed=" << attached_headers_removed
      << " message_id_rewritten=" << message_id_rewritten
      << " boundaries_regenerated=" << boundaries_regenerated
      << " images_cleaned=" << images_cleaned << " pdfs_cleaned=" << pdfs_cleaned
      << " office_cleaned=" << office_cleaned << " html_remote_removed=" << html_remote_removed
      << " unscrubbable_passed=" << unscrubbable_passed
      << " inner_untouched=" << (inner_untouched ? "yes" : "no") << " held=" << held.size();
  return out.str();
}

ScrubReport scrub_message(GMimeMessage* msg, const ScrubProfile& profile, const ScrubContext& ctx) {
  ScrubReport report;
  if (!msg) {
    report.held.emplace_back("mime: no message");
    return report;
  }
  const std::string practice_domain = message_sender_domain(msg);
  scrub_headers(msg, profile, report);
  if (profile.rewrite_message_id) scrub_message_id(msg, ctx, report);
  Walker(profile, ctx, report, practice_domain).walk(g_mime_message_get_mime_part(msg), 0);
  return report;
}

}  // namespace sealpost::scrub
