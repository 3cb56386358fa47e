#include "common/body.h"

#include <algorithm>

#include "common/spill_file.h"

namespace sealpost {
namespace {

constexpr std::size_t kPiece = 64u << 10;

const std::shared_ptr<const std::string>& empty_bytes() {
  static const auto empty = std::make_shared<const std::string>();
  return empty;
}

}  // namespace

Body::Body() : mem_(empty_bytes()) {}

Body::Body(std::string bytes) : mem_(std::make_shared<const std::string>(std::move(bytes))) {}

Body::Body(std::shared_ptr<const BodySource> source) : src_(std::move(source)) {}

std::uint64_t Body::size() const {
  return src_ ? src_->size() : mem_->size();
}

Result<std::size_t> Body::read_at(std::uint64_t offset, char* buf, std::size_t n) const {
  if (src_) return src_->read_at(offset, buf, n);
  if (offset >= mem_->size()) return std::size_t{0};
  const std::size_t take = std::min<std::size_t>(n, mem_->size() - offset);
  std::copy_n(mem_->data() + offset, take, buf);
  return take;
}

Result<bool> Body::visit(const std::function<bool(std::string_view)>& piece) const {
  if (!src_) {
    for (std::size_t pos = 0; pos < mem_->size(); pos += kPiece)
      if (!piece(std::string_view(*mem_).substr(pos, kPiece))) return false;
    return true;
  }
  std::string buf(kPiece, '\0');
  for (std::uint64_t pos = 0; pos < src_->size();) {
    auto n = src_->read_at(pos, buf.data(), buf.size());
    if (!n) return n.error();
    if (*n == 0) return Error::temp("4.3.0", "Local error in processing", "body ended early");
    if (!piece(std::string_view(buf.data(), *n))) return false;
    pos += *n;
  }
  return true;
}

Result<std::string> Body::head(std::size_t n) const {
  if (!src_) return mem_->substr(0, n);
  std::string out(static_cast<std::size_t>(std::min<std::uint64_t>(n, size())), '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    auto r = src_->read_at(got, out.data() + got, out.size() - got);
    if (!r) return r.error();
    if (*r == 0) break;
    got += *r;
  }
  out.resize(got);
  return out;
}

Result<std::string> Body::to_string(std::size_t max) const {
  if (size() > max)
    return Error::perm("5.3.4", "Message too big for this operation",
                       "body of " + std::to_string(size()) + " bytes over " + std::to_string(max));
  if (!src_) return *mem_;
  auto all = head(static_cast<std::size_t>(size()));
  // The source promised size() bytes: fewer is a damaged source, not a body.
  if (all && all->size() != size())
    return Error::plain("body source ended after " + std::to_string(all->size()) + " of " +
                        std::to_string(size()) + " bytes");
  return all;
}

BodyWriter::BodyWriter(SpillSettings settings) : settings_(std::move(settings)) {}
BodyWriter::~BodyWriter() = default;
BodyWriter::BodyWriter(BodyWriter&&) noexcept = default;
BodyWriter& BodyWriter::operator=(BodyWriter&&) noexcept = default;

Result<void> BodyWriter::append(std::string_view bytes) {
  if (failed_) return *failed_;
  size_ += bytes.size();
  if (!spill_ && !settings_.dir.empty() && mem_.size() + bytes.size() > settings_.memory_limit) {
    auto created = SpillFile::create(settings_.dir);
    if (!created) {
      failed_ = created.error();
      return *failed_;
    }
    spill_ = std::move(created.value());
    if (auto r = spill_->append(mem_); !r) {
      failed_ = r.error();
      return r;
    }
    mem_.clear();
    mem_.shrink_to_fit();
  }
  if (!spill_) {
    mem_.append(bytes);
    return {};
  }
  if (auto r = spill_->append(bytes); !r) {
    failed_ = r.error();
    return r;
  }
  return {};
}

Result<Body> BodyWriter::finish() {
  if (failed_) {
    Error e = *failed_;
    *this = BodyWriter(settings_);
    return e;
  }
  Body out;
  if (spill_) {
    if (auto r = spill_->finish(); !r) {
      *this = BodyWriter(settings_);  // reusable, as after any other failure
      return r.error();
    }
    out = Body(std::shared_ptr<const BodySource>(std::move(spill_)));
  } else {
    out = Body(std::move(mem_));
  }
  mem_.clear();
  spill_.reset();
  size_ = 0;
  return out;
}

}  // namespace sealpost
