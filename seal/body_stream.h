// GMime streams over the relay's own byte containers (common/body.h), so that
// GMime parses and writes messages without copying them into its memory
// streams:
//   - BodyStream: read-only and seekable over a Body. With the parser's
//     persistent mode, parts keep substreams of it instead of copies of their
//     content, so parsing a 100 MB message costs its structure, not its size.
//   - CrlfWriterStream: write-only into a BodyWriter, turning any bare CR or LF
//     into CRLF on the way (SMTP, CMS and OpenPGP all want canonical lines).
#pragma once

#include <gmime/gmime.h>

#include <memory>
#include <optional>

#include "common/body.h"
#include "common/result.h"
#include "seal/gmime_ptr.h"

namespace sealpost::seal {

class BodyStream {
 public:
  explicit BodyStream(Body body);
  GMimeStream* get() const { return stream_.get(); }
  // The first read error of this stream or any of its substreams (GMime itself
  // treats a failed read like the end of the data, so callers must ask).
  std::optional<Error> error() const;

  struct Shared;  // the Body and the error, shared with substreams

 private:
  std::shared_ptr<Shared> shared_;
  GPtr<GMimeStream> stream_;
};

class CrlfWriterStream {
 public:
  explicit CrlfWriterStream(BodyWriter& out);
  GMimeStream* get() const { return stream_.get(); }
  // Ends the output with CRLF unless it already does (GMime's own writer
  // ensures a final newline for messages); returns the writer's first error.
  Result<void> finish();

  struct State;

 private:
  std::shared_ptr<State> state_;
  GPtr<GMimeStream> stream_;
};

}  // namespace sealpost::seal
