#include <exception>
// Use std::shared_ptr throughout (qpdf 11 API); silences the PointerHolder warning.
#define POINTERHOLDER_TRANSITION 4
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFWriter.hh>

#include "seal/scrub/attachment_cleaners.h"

namespace sealpost::scrub {

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
