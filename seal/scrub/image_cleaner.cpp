// exiv2 0.27 still spells its owning pointers std::auto_ptr; the deprecation
// warning is silenced for this file only (see CMakeLists.txt).
#include <exception>
#include <exiv2/exiv2.hpp>

#include "seal/scrub/attachment_cleaners.h"

namespace sealpost::scrub {

Result<std::string> clean_image_metadata(std::string_view bytes) {
  if (bytes.empty() || bytes.size() > static_cast<std::size_t>(0x7fffffff))
    return Error::plain("image: size out of range");
  if (is_png(bytes)) return clean_png_metadata(bytes);
  try {
    auto image = Exiv2::ImageFactory::open(reinterpret_cast<const Exiv2::byte*>(bytes.data()),
                                           static_cast<long>(bytes.size()));
    if (!image.get()) return Error::plain("image: unknown format");
    image->readMetadata();
    image->clearMetadata();  // EXIF, IPTC, XMP and the comment
    image->writeMetadata();
    Exiv2::BasicIo& io = image->io();
    if (io.open() != 0) return Error::plain("image: cannot reopen buffer");
    const long size = io.size();
    std::string out(static_cast<std::size_t>(size), '\0');
    io.seek(0, Exiv2::BasicIo::beg);
    const long got = io.read(reinterpret_cast<Exiv2::byte*>(out.data()), size);
    io.close();
    if (got != size) return Error::plain("image: short read");
    return out;
  } catch (const std::exception& e) {
    // exiv2 messages may quote file bytes: log only that it failed.
    return Error::plain("image: unparseable");
  } catch (...) {
    return Error::plain("image: unparseable");
  }
}

}  // namespace sealpost::scrub
