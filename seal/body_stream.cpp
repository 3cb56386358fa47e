#include "seal/body_stream.h"

#include <algorithm>
#include <mutex>

#include "seal/crlf.h"

namespace sealpost::seal {

struct BodyStream::Shared {
  Body body;
  std::mutex mu;
  std::optional<Error> error;
  void fail(const Error& e) {
    std::lock_guard lock(mu);
    if (!error) error = e;
  }
};

struct CrlfWriterStream::State {
  BodyWriter* out = nullptr;
  CrlfStream crlf;
  std::optional<Error> error;
};

}  // namespace sealpost::seal

// GObject boilerplate: two GMimeStream subclasses whose instances point at
// shared C++ state (freed in finalize).
extern "C" {

struct SealpostBodyStream {
  GMimeStream parent;
  std::shared_ptr<sealpost::seal::BodyStream::Shared>* shared;
};
struct SealpostBodyStreamClass {
  GMimeStreamClass parent_class;
};
G_DEFINE_TYPE(SealpostBodyStream, sealpost_body_stream, GMIME_TYPE_STREAM)

struct SealpostCrlfWriter {
  GMimeStream parent;
  std::shared_ptr<sealpost::seal::CrlfWriterStream::State>* state;
};
struct SealpostCrlfWriterClass {
  GMimeStreamClass parent_class;
};
G_DEFINE_TYPE(SealpostCrlfWriter, sealpost_crlf_writer, GMIME_TYPE_STREAM)
}

namespace {

using sealpost::seal::BodyStream;
using sealpost::seal::CrlfWriterStream;

SealpostBodyStream* as_body(GMimeStream* s) {
  return reinterpret_cast<SealpostBodyStream*>(s);
}
BodyStream::Shared& shared_of(GMimeStream* s) {
  return **as_body(s)->shared;
}
gint64 bound_end(GMimeStream* s) {
  return s->bound_end != -1 ? s->bound_end : static_cast<gint64>(shared_of(s).body.size());
}

GMimeStream* new_body_stream(std::shared_ptr<BodyStream::Shared> shared, gint64 start, gint64 end) {
  auto* s =
      static_cast<SealpostBodyStream*>(g_object_new(sealpost_body_stream_get_type(), nullptr));
  s->shared = new std::shared_ptr<BodyStream::Shared>(std::move(shared));
  g_mime_stream_construct(GMIME_STREAM(s), start, end);
  return GMIME_STREAM(s);
}

ssize_t body_read(GMimeStream* s, char* buf, size_t len) {
  const gint64 end = bound_end(s);
  if (s->position >= end) return 0;
  const auto want =
      static_cast<std::size_t>(std::min<gint64>(static_cast<gint64>(len), end - s->position));
  std::size_t got = 0;
  // Fill the caller's buffer: a source returns at most one record per read.
  while (got < want) {
    auto n = shared_of(s).body.read_at(static_cast<std::uint64_t>(s->position) + got, buf + got,
                                       want - got);
    if (!n) {
      shared_of(s).fail(n.error());
      return got > 0 ? static_cast<ssize_t>(got) : -1;
    }
    if (*n == 0) break;
    got += *n;
  }
  s->position += static_cast<gint64>(got);
  return static_cast<ssize_t>(got);
}

ssize_t body_write(GMimeStream*, const char*, size_t) {
  return -1;  // read-only
}
int body_flush(GMimeStream*) {
  return 0;
}
int body_close(GMimeStream*) {
  return 0;
}
gboolean body_eos(GMimeStream* s) {
  return s->position >= bound_end(s);
}
int body_reset(GMimeStream* s) {
  s->position = s->bound_start;
  return 0;
}
gint64 body_seek(GMimeStream* s, gint64 offset, GMimeSeekWhence whence) {
  const gint64 end = bound_end(s);
  gint64 real = s->position;
  switch (whence) {
    case GMIME_STREAM_SEEK_SET:
      real = offset;
      break;
    case GMIME_STREAM_SEEK_END:
      real = end + offset;
      break;
    case GMIME_STREAM_SEEK_CUR:
      real = s->position + offset;
      break;
  }
  s->position = std::clamp(real, s->bound_start, end);
  return s->position;
}
gint64 body_tell(GMimeStream* s) {
  return s->position;
}
gint64 body_length(GMimeStream* s) {
  return bound_end(s) - s->bound_start;
}
GMimeStream* body_substream(GMimeStream* s, gint64 start, gint64 end) {
  return new_body_stream(*as_body(s)->shared, start, end);
}

CrlfWriterStream::State& state_of(GMimeStream* s) {
  return **reinterpret_cast<SealpostCrlfWriter*>(s)->state;
}

ssize_t writer_read(GMimeStream*, char*, size_t) {
  return -1;  // write-only
}
ssize_t writer_write(GMimeStream* s, const char* buf, size_t len) {
  auto& st = state_of(s);
  if (st.error) return -1;
  const bool ok = st.crlf.feed(std::string_view(buf, len), [&](std::string_view piece) {
    auto r = st.out->append(piece);
    if (!r) st.error = r.error();
    return r.ok();
  });
  if (!ok) return -1;
  s->position += static_cast<gint64>(len);
  return static_cast<ssize_t>(len);
}
gboolean writer_eos(GMimeStream*) {
  return FALSE;
}
int writer_reset(GMimeStream*) {
  return -1;
}
gint64 writer_seek(GMimeStream*, gint64, GMimeSeekWhence) {
  return -1;
}
gint64 writer_length(GMimeStream*) {
  return -1;
}
GMimeStream* writer_substream(GMimeStream*, gint64, gint64) {
  return nullptr;
}

}  // namespace

extern "C" {

static void sealpost_body_stream_finalize(GObject* obj) {
  delete reinterpret_cast<SealpostBodyStream*>(obj)->shared;
  G_OBJECT_CLASS(sealpost_body_stream_parent_class)->finalize(obj);
}

static void sealpost_body_stream_class_init(SealpostBodyStreamClass* klass) {
  G_OBJECT_CLASS(klass)->finalize = sealpost_body_stream_finalize;
  GMimeStreamClass* c = GMIME_STREAM_CLASS(klass);
  c->read = body_read;
  c->write = body_write;
  c->flush = body_flush;
  c->close = body_close;
  c->eos = body_eos;
  c->reset = body_reset;
  c->seek = body_seek;
  c->tell = body_tell;
  c->length = body_length;
  c->substream = body_substream;
}

static void sealpost_body_stream_init(SealpostBodyStream* s) {
  s->shared = nullptr;
}

static void sealpost_crlf_writer_finalize(GObject* obj) {
  delete reinterpret_cast<SealpostCrlfWriter*>(obj)->state;
  G_OBJECT_CLASS(sealpost_crlf_writer_parent_class)->finalize(obj);
}

static void sealpost_crlf_writer_class_init(SealpostCrlfWriterClass* klass) {
  G_OBJECT_CLASS(klass)->finalize = sealpost_crlf_writer_finalize;
  GMimeStreamClass* c = GMIME_STREAM_CLASS(klass);
  c->read = writer_read;
  c->write = writer_write;
  c->flush = body_flush;
  c->close = body_close;
  c->eos = writer_eos;
  c->reset = writer_reset;
  c->seek = writer_seek;
  c->tell = body_tell;
  c->length = writer_length;
  c->substream = writer_substream;
}

static void sealpost_crlf_writer_init(SealpostCrlfWriter* s) {
  s->state = nullptr;
}
}

namespace sealpost::seal {

BodyStream::BodyStream(Body body) : shared_(std::make_shared<Shared>()) {
  ensure_gmime();
  shared_->body = std::move(body);
  stream_.reset(new_body_stream(shared_, 0, -1));
}

std::optional<Error> BodyStream::error() const {
  std::lock_guard lock(shared_->mu);
  return shared_->error;
}

CrlfWriterStream::CrlfWriterStream(BodyWriter& out) : state_(std::make_shared<State>()) {
  ensure_gmime();
  state_->out = &out;
  auto* s =
      static_cast<SealpostCrlfWriter*>(g_object_new(sealpost_crlf_writer_get_type(), nullptr));
  s->state = new std::shared_ptr<State>(state_);
  g_mime_stream_construct(GMIME_STREAM(s), 0, -1);
  stream_.reset(GMIME_STREAM(s));
}

Result<void> CrlfWriterStream::finish() {
  if (state_->error) return *state_->error;
  if (!state_->crlf.ends_with_crlf() && state_->out->size() > 0) {
    if (auto r = state_->out->append("\r\n"); !r) return r;
  }
  return {};
}

}  // namespace sealpost::seal
