// OOXML (docx/xlsx/pptx) document properties and people. docProps/core.xml
// (creator, lastModifiedBy, title, dates), docProps/app.xml (Company,
// Manager, template) and docProps/custom.xml are replaced by empty but valid
// property documents, so [Content_Types].xml and the package relationships
// stay consistent. Parts that name comment or tracked-change authors
// (ooxml_authors.h) are decompressed, bounded, and rewritten with neutral
// names. Every other entry is copied as stored, never decompressed, which
// keeps zip bombs harmless.
#include <zip.h>

#include <algorithm>
#include <list>
#include <memory>
#include <string>

#include "seal/scrub/attachment_cleaners.h"
#include "seal/scrub/ooxml_authors.h"

namespace sealpost::scrub {
namespace {

struct ZipSourceFree {
  void operator()(zip_source_t* s) const { zip_source_free(s); }
};
struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};

constexpr zip_int64_t kMaxEntries = 10000;
// Author-bearing XML parts are read whole: one part and all of them together
// are capped (a large document.xml is a few MiB; a bomb is refused).
constexpr zip_uint64_t kMaxPartBytes = 64u << 20;
constexpr zip_uint64_t kMaxInflatedBytes = 128u << 20;

struct ZipFileClose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

// The whole entry, at most `cap` bytes; an entry longer than declared or
// than `cap` is an error, whatever its header claims.
Result<std::string> read_entry(zip_t* archive, zip_uint64_t index, zip_uint64_t cap) {
  zip_stat_t st;
  if (zip_stat_index(archive, index, 0, &st) < 0 || !(st.valid & ZIP_STAT_SIZE))
    return Error::plain("office: unreadable entry");
  if (st.size > cap) return Error::plain("office: part too large to clean");
  std::unique_ptr<zip_file_t, ZipFileClose> f(zip_fopen_index(archive, index, 0));
  if (!f) return Error::plain("office: unreadable entry");
  std::string out(static_cast<std::size_t>(st.size) + 1, '\0');
  zip_uint64_t got = 0;
  while (got < out.size()) {
    const zip_int64_t r = zip_fread(f.get(), out.data() + got, out.size() - got);
    if (r < 0) return Error::plain("office: unreadable entry");
    if (r == 0) break;
    got += static_cast<zip_uint64_t>(r);
  }
  if (got != st.size) return Error::plain("office: entry size mismatch");
  out.resize(static_cast<std::size_t>(got));
  return out;
}

// Comment and tracked-change authors; returns how many parts changed. The
// new contents live in `bodies` (stable addresses) until zip_close.
Result<int> neutralise_people(zip_t* archive, zip_int64_t entries, std::list<std::string>& bodies) {
  zip_uint64_t budget = kMaxInflatedBytes;
  int replaced = 0;
  for (zip_int64_t i = 0; i < entries; ++i) {
    const auto index = static_cast<zip_uint64_t>(i);
    const char* name = zip_get_name(archive, index, 0);
    if (!name || !ooxml_part_may_name_people(name)) continue;
    auto xml = read_entry(archive, index, std::min(kMaxPartBytes, budget));
    if (!xml) return xml.error();
    budget -= xml->size();
    std::string rewritten;
    if (neutralise_ooxml_authors(name, *xml, rewritten) == 0) continue;
    const std::string& body = bodies.emplace_back(std::move(rewritten));
    zip_source_t* repl = zip_source_buffer(archive, body.data(), body.size(), 0);
    if (!repl) return Error::plain("office: out of memory");
    if (zip_file_replace(archive, index, repl, 0) < 0) {
      zip_source_free(repl);
      return Error::plain("office: cannot replace part");
    }
    ++replaced;
  }
  return replaced;
}

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
  std::unique_ptr<zip_t, ZipDiscard> archive(
      zip_open_from_source(src.get(), ZIP_CHECKCONS, nullptr));
  if (!archive) return Error::plain("office: unreadable zip");
  // The open archive owns one reference and drops it when closed; keep ours,
  // the result is read from the source afterwards. (Taken only after a
  // successful open: a failed open takes no ownership.)
  zip_source_keep(src.get());
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
  std::list<std::string> bodies;  // must outlive zip_close below
  auto people = neutralise_people(archive.get(), entries, bodies);
  if (!people) return people.error();
  replaced += *people;
  if (replaced == 0) return std::string(bytes);
  if (zip_close(archive.get()) < 0) return Error::plain("office: cannot rewrite zip");
  (void)archive.release();  // zip_close freed it

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
