// PDF metadata with qpdf: the trailer /Info dictionary, every /Metadata (XMP)
// stream reference (catalog, pages, images, fonts, any object), /PieceInfo
// (application private data) and the author (/T) of markup annotations.
// Pages and content streams are untouched.
#include <exception>
// Use std::shared_ptr throughout (qpdf 11 API); silences the PointerHolder warning.
#define POINTERHOLDER_TRANSITION 4
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFWriter.hh>

#include "seal/scrub/attachment_cleaners.h"

namespace sealpost::scrub {
namespace {

constexpr int kMaxDirectDepth = 32;  // direct objects nested inside one object

// Removes /Metadata and /PieceInfo from `obj` and the direct dictionaries and
// arrays inside it (indirect ones are visited on their own).
void strip_metadata_keys(QPDFObjectHandle obj, int depth) {
  if (depth > kMaxDirectDepth) return;
  if (obj.isStream()) obj = obj.getDict();
  if (obj.isDictionary()) {
    obj.removeKey("/Metadata");
    obj.removeKey("/PieceInfo");
    for (const auto& key : obj.getKeys()) {
      QPDFObjectHandle child = obj.getKey(key);
      if (!child.isIndirect()) strip_metadata_keys(child, depth + 1);
    }
  } else if (obj.isArray()) {
    const int n = obj.getArrayNItems();
    for (int i = 0; i < n; ++i) {
      QPDFObjectHandle child = obj.getArrayItem(i);
      if (!child.isIndirect()) strip_metadata_keys(child, depth + 1);
    }
  }
}

// Markup annotations (comments, highlights, notes) carry their author in /T;
// on form fields (/Widget) /T is the field name and must stay.
void neutralise_annotation_authors(QPDF& pdf) {
  for (QPDFObjectHandle page : pdf.getAllPages()) {
    QPDFObjectHandle annots = page.getKey("/Annots");
    if (!annots.isArray()) continue;
    const int n = annots.getArrayNItems();
    for (int i = 0; i < n; ++i) {
      QPDFObjectHandle a = annots.getArrayItem(i);
      if (!a.isDictionary() || !a.hasKey("/T")) continue;
      QPDFObjectHandle subtype = a.getKey("/Subtype");
      if (subtype.isName() && subtype.getName() == "/Widget") continue;
      a.replaceKey("/T", QPDFObjectHandle::newUnicodeString(""));
    }
  }
}

}  // namespace

Result<std::string> clean_pdf_metadata(std::string_view bytes) {
  if (bytes.size() < 8 || bytes.substr(0, 5) != "%PDF-") return Error::plain("pdf: not a PDF");
  try {
    QPDF pdf;
    pdf.setSuppressWarnings(true);
    // Refuse damaged files rather than letting qpdf's reconstruction walk
    // arbitrary bytes; a damaged file is held (or passed) per profile.
    pdf.setAttemptRecovery(false);
    std::string copy(bytes);  // processMemoryFile wants a stable buffer
    pdf.processMemoryFile("attachment.pdf", copy.data(), copy.size());
    if (pdf.isEncrypted()) return Error::plain("pdf: encrypted");
    // The whole Info dictionary goes (Author, Creator, Producer, Title,
    // Subject, Keywords, dates): none of it is needed to read the document.
    pdf.getTrailer().removeKey("/Info");
    pdf.getRoot().removeKey("/Metadata");  // document-level XMP
    // XMP also hangs off pages, images and fonts; unreferenced streams are
    // not written, so dropping the keys drops the streams.
    for (const QPDFObjectHandle& obj : pdf.getAllObjects()) strip_metadata_keys(obj, 0);
    neutralise_annotation_authors(pdf);
    QPDFWriter writer(pdf);
    writer.setOutputMemory();
    writer.setDeterministicID(true);  // no ID derived from time or path
    writer.write();
    auto buffer = writer.getBufferSharedPointer();
    return std::string(reinterpret_cast<const char*>(buffer->getBuffer()), buffer->getSize());
  } catch (const std::exception&) {
    return Error::plain("pdf: unparseable");
  }
}

}  // namespace sealpost::scrub
