// OOXML (docx/xlsx/pptx) document properties. docProps/core.xml (creator,
// lastModifiedBy, title, dates), docProps/app.xml (Company, Manager, template)
// and docProps/custom.xml are replaced by empty but valid property documents,
// so [Content_Types].xml and the package relationships stay consistent.
// Nothing is decompressed: unchanged entries are copied as stored, which
// keeps zip bombs harmless.
#include <zip.h>

#include <memory>

#include "seal/scrub/attachment_cleaners.h"

namespace sealpost::scrub {
namespace {

struct ZipSourceFree {
  void operator()(zip_source_t* s) const { zip_source_free(s); }
};
struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};

constexpr zip_int64_t kMaxEntries = 10000;

constexpr std::string_view kCore =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n"
    "<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/"
    "metadata/core-properties\"/>";
constexpr std::string_view kApp =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n"
    "<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "extended-properties\"/>";
constexpr std::string_view kCustom =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n"
    "<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "custom-properties\"/>";

}  // namespace

Result<std::string> clean_office_metadata(std::string_view bytes) {
  if (bytes.size() < 4 || bytes.substr(0, 2) != "PK") return Error::plain("office: not a zip");
  zip_error_t error;
  zip_error_init(&error);
  std::unique_ptr<zip_source_t, ZipSourceFree> src(
      zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error));
  zip_error_fini(&error);
  if (!src) return Error::plain("office: out of memory");
  zip_source_keep(src.get());  // the archive must not free it: we read the result from it
  std::unique_ptr<zip_t, ZipDiscard> archive(
      zip_open_from_source(src.get(), ZIP_CHECKCONS, nullptr));
  if (!archive) return Error::plain("office: unreadable zip");
  const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
  if (entries < 0 || entries > kMaxEntries) return Error::plain("office: too many entries");
  if (zip_name_locate(archive.get(), "[Content_Types].xml", 0) < 0)
    return Error::plain("office: not an OOXML package");

  int replaced = 0;
  for (auto [name, body] :
       {std::pair{"docProps/core.xml", kCore}, std::pair{"docProps/app.xml", kApp},
        std::pair{"docProps/custom.xml", kCustom}}) {
    const zip_int64_t index = zip_name_locate(archive.get(), name, 0);
    if (index < 0) continue;
    // Static bodies: valid until zip_close, as zip_source_buffer requires.
    zip_source_t* repl = zip_source_buffer(archive.get(), body.data(), body.size(), 0);
    if (!repl) return Error::plain("office: out of memory");
    if (zip_file_replace(archive.get(), static_cast<zip_uint64_t>(index), repl, 0) < 0) {
      zip_source_free(repl);
      return Error::plain("office: cannot replace properties");
    }
    ++replaced;
  }
  if (replaced == 0) return std::string(bytes);
  if (zip_close(archive.get()) < 0) return Error::plain("office: cannot rewrite zip");
  archive.release();  // zip_close freed it

  zip_stat_t st;
  if (zip_source_stat(src.get(), &st) < 0 || !(st.valid & ZIP_STAT_SIZE) ||
      zip_source_open(src.get()) < 0)
    return Error::plain("office: cannot read result");
  std::string out(static_cast<std::size_t>(st.size), '\0');
  const zip_int64_t got = zip_source_read(src.get(), out.data(), st.size);
  zip_source_close(src.get());
  if (got < 0 || static_cast<zip_uint64_t>(got) != st.size)
    return Error::plain("office: short read");
  return out;
}

}  // namespace sealpost::scrub
