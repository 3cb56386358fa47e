// Metadata cleaners for attachment bytes. Each takes the decoded attachment
// and returns the cleaned bytes, or an Error when the file cannot be parsed
// (hostile or broken input): the caller then holds or passes per profile.
// Exceptions from exiv2/qpdf never leave these functions.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace sealpost::scrub {

// EXIF, XMP, IPTC and comments out of JPEG/PNG/TIFF/WebP (exiv2); pixels untouched.
Result<std::string> clean_image_metadata(std::string_view bytes);

// PNG rebuilt from rendering chunks only (text, EXIF, XMP, time dropped).
bool is_png(std::string_view bytes);
Result<std::string> clean_png_metadata(std::string_view bytes);

// The trailer /Info dictionary and the catalog's XMP /Metadata stream out of a
// PDF (qpdf); pages and content streams untouched. Encrypted PDFs are refused.
Result<std::string> clean_pdf_metadata(std::string_view bytes);

// OOXML docProps (core/app/custom) replaced by empty property documents (libzip).
Result<std::string> clean_office_metadata(std::string_view bytes);

}  // namespace sealpost::scrub
