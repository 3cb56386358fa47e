// exiv2 0.27 still spells its owning pointers std::auto_ptr; the deprecation
// warning is silenced for this file only (see CMakeLists.txt).
#include <exception>
#include <exiv2/exiv2.hpp>
#include <exiv2/webpimage.hpp>  // ImageType::webp (not in exiv2.hpp)
#include <string>

#include "seal/scrub/attachment_cleaners.h"

namespace sealpost::scrub {

Result<std::string> clean_image_metadata(std::string_view bytes) {
  if (bytes.empty() || bytes.size() > static_cast<std::size_t>(0x7fffffff))
    return Error::plain("image: size out of range");
  if (is_png(bytes)) return clean_png_metadata(bytes);
  try {
    const auto* data = reinterpret_cast<const Exiv2::byte*>(bytes.data());
    const auto len = static_cast<long>(bytes.size());
    // Only the still-image formats we promise to clean reach exiv2's readers.
    // Its auto-detection would also hand bytes to the video readers (found by
    // fuzzing: QuickTimeVideo::decodeBlock spins for minutes on 5 KB), which
    // no attachment labelled or sniffed as an image should take.
    const int type = Exiv2::ImageFactory::getType(data, len);
    if (type != Exiv2::ImageType::jpeg && type != Exiv2::ImageType::tiff &&
        type != Exiv2::ImageType::webp)
      return Error::plain("image: format not cleaned (exiv2 type " + std::to_string(type) + ")");
    auto image = Exiv2::ImageFactory::open(data, len);  // detects the same type again
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
