#include "seal/body_bio.h"

namespace sealpost::seal {
namespace {

int read_ex(BIO* b, char* buf, size_t len, size_t* readbytes) {
  return static_cast<BodySourceBio*>(BIO_get_data(b))->read(buf, len, readbytes) ? 1 : 0;
}

int write_ex(BIO* b, const char* buf, size_t len, size_t* written) {
  auto* sink = static_cast<Base64Sink*>(BIO_get_data(b));
  if (!sink->write(std::string_view(buf, len))) return 0;
  *written = len;
  return 1;
}

long ctrl(BIO*, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
    case BIO_CTRL_PENDING:
    case BIO_CTRL_WPENDING:
      return cmd == BIO_CTRL_FLUSH ? 1 : 0;
    default:
      return 0;
  }
}

const BIO_METHOD* reader_method() {
  static BIO_METHOD* m = [] {
    BIO_METHOD* meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sealpost body");
    if (meth) {  // else BIO_new fails and the caller reports it
      BIO_meth_set_read_ex(meth, read_ex);
      BIO_meth_set_ctrl(meth, ctrl);
    }
    return meth;
  }();
  return m;
}

const BIO_METHOD* writer_method() {
  static BIO_METHOD* m = [] {
    BIO_METHOD* meth =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sealpost base64 sink");
    if (meth) {
      BIO_meth_set_write_ex(meth, write_ex);
      BIO_meth_set_ctrl(meth, ctrl);
    }
    return meth;
  }();
  return m;
}

}  // namespace

BodySourceBio::BodySourceBio(const Body& body)
    : body_(body), bio_(reader_method() ? BIO_new(reader_method()) : nullptr) {
  if (bio_) {
    BIO_set_data(bio_.get(), this);
    BIO_set_init(bio_.get(), 1);
  }
}

bool BodySourceBio::read(char* buf, std::size_t len, std::size_t* got) {
  *got = 0;
  if (error_) return false;
  auto n = body_.read_at(pos_, buf, len);
  if (!n) {
    error_ = n.error();
    return false;
  }
  if (*n == 0) return false;  // the end
  pos_ += *n;
  *got = *n;
  return true;
}

Base64Sink::Base64Sink(BodyWriter& out)
    : out_(out), bio_(writer_method() ? BIO_new(writer_method()) : nullptr) {
  if (bio_) {
    BIO_set_data(bio_.get(), this);
    BIO_set_init(bio_.get(), 1);
  }
}

bool Base64Sink::write(std::string_view bytes) {
  if (error_) return false;
  buf_.clear();
  enc_.feed(bytes, buf_);
  if (auto r = out_.append(buf_); !r) error_ = r.error();
  return !error_;
}

Result<void> Base64Sink::finish() {
  if (!bio_) return Error::temp("4.7.0", "encryption failed, will retry", "BIO_new failed");
  if (error_) return *error_;
  buf_.clear();
  enc_.finish(buf_);
  if (auto r = out_.append(buf_); !r) error_ = r.error();
  if (error_) return *error_;
  return {};
}

}  // namespace sealpost::seal
