// RAII for GMime/GObject handles and the one-time g_mime_init().
#pragma once

#include <gmime/gmime.h>

#include <memory>
#include <string>

namespace sealpost::seal {

struct GObjectUnref {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct FormatOptionsFree {
  void operator()(GMimeFormatOptions* o) const { g_mime_format_options_free(o); }
};
using FormatOptionsPtr = std::unique_ptr<GMimeFormatOptions, FormatOptionsFree>;

// Thread-safe, idempotent; call before any other GMime function.
void ensure_gmime();

// Serialises a MIME object with CRLF line ends (what SMTP and CMS want).
std::string to_crlf_string(GMimeObject* object);

}  // namespace sealpost::seal
