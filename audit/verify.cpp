#include "audit/verify.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <vector>

#include "audit/audit_line.h"
#include "audit/chain_files.h"

namespace sealpost::audit {
namespace {

struct Checkpoint {
  std::uint64_t pruned_seq = 0;
  std::string pruned_hash;
  std::string file;
  std::size_t line = 0;
  std::uint64_t seq = 0;
};

std::optional<std::string> field(const Line& l, std::string_view name) {
  for (const auto& [k, v] : l.fields)
    if (k == name) return v;
  return std::nullopt;
}

std::optional<std::uint64_t> to_u64(const std::string& s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return v;
}

class Verifier {
 public:
  VerifyResult run(const std::filesystem::path& dir) {
    std::error_code ec;
    const auto files = chain_files(dir, ec);
    // Fail closed: a log we cannot list is not an intact, empty log.
    if (ec) {
      broken(1, dir.string(), 0, "cannot list the directory: " + ec.message());
      return result_;
    }
    for (const auto& file : files) {
      if (!check_file(file)) return result_;
    }
    check_anchor();
    return result_;
  }

 private:
  bool broken(std::uint64_t event, const std::string& file, std::size_t line, std::string why) {
    result_.intact = false;
    result_.broken_event = event;
    result_.file = file;
    result_.line = line;
    result_.reason = std::move(why);
    return false;
  }

  bool check_file(const std::filesystem::path& path) {
    const std::string file = path.string();
    const std::string day = *day_of_file(path);
    std::ifstream in(path, std::ios::binary);
    if (!in)
      return broken(next_seq(), file, 0,
                    std::string("cannot read the file: ") + std::strerror(errno));
    std::string text;
    std::size_t line_no = 0;
    std::uint64_t last_seq = 0;
    std::string last_hash;
    // getline bounded by kMaxLineBytes: read char-wise blocks.
    while (true) {
      text.clear();
      bool ended = false;
      char c;
      while (in.get(c)) {
        if (c == '\n') {
          ended = true;
          break;
        }
        if (text.size() > kMaxLineBytes) break;
        text += c;
      }
      if (!ended && text.empty() && !in) break;  // clean end of file
      ++line_no;
      if (text.size() > kMaxLineBytes) return broken(next_seq(), file, line_no, "line too long");
      if (!ended) return broken(next_seq(), file, line_no, "incomplete last line (torn write)");
      auto line = decode_line(text);
      if (!line) return broken(next_seq(), file, line_no, line.error().what());
      if (!check_links(*line, file, line_no)) return false;
      if (line->time.substr(0, 10) != day)
        return broken(line->seq, file, line_no,
                      "record dated " + line->time.substr(0, 10) + " is in the file for " + day);
      if (line->type == "checkpoint" && !note_checkpoint(*line, file, line_no)) return false;
      last_seq = line->seq;
      last_hash = line->hash;
    }
    if (last_seq != 0) file_ends_[last_seq] = last_hash;
    return true;
  }

  std::uint64_t next_seq() const { return result_.events == 0 ? 1 : result_.head_seq + 1; }

  bool check_links(const Line& l, const std::string& file, std::size_t line_no) {
    if (result_.events == 0) {
      first_seq_ = l.seq;
      first_prev_ = l.prev;
      first_file_ = file;
      first_line_ = line_no;
    } else {
      if (l.seq != result_.head_seq + 1)
        return broken(result_.head_seq + 1, file, line_no,
                      "expected event " + std::to_string(result_.head_seq + 1) + ", found " +
                          std::to_string(l.seq) + " (events removed or reordered)");
      if (l.prev != result_.head_hash)
        return broken(l.seq, file, line_no,
                      "prev does not match the hash of event " + std::to_string(result_.head_seq) +
                          " (that event was edited or replaced)");
    }
    ++result_.events;
    result_.head_seq = l.seq;
    result_.head_hash = l.hash;
    return true;
  }

  bool note_checkpoint(const Line& l, const std::string& file, std::size_t line_no) {
    auto s = field(l, "last_pruned_seq");
    auto h = field(l, "last_pruned_hash");
    auto seq = s ? to_u64(*s) : std::nullopt;
    if (!seq || !h) return broken(l.seq, file, line_no, "checkpoint record lacks its anchor");
    checkpoints_.push_back(Checkpoint{*seq, *h, file, line_no, l.seq});
    return true;
  }

  void check_anchor() {
    if (result_.events == 0) return;
    // Checkpoints whose pruned part is still (partly) here must match it: files
    // are deleted only after the checkpoint is written, so leftovers are fine.
    for (const auto& cp : checkpoints_) {
      if (cp.pruned_seq < first_seq_) continue;
      auto it = file_ends_.find(cp.pruned_seq);
      if (it == file_ends_.end() || it->second != cp.pruned_hash) {
        broken(cp.seq, cp.file, cp.line,
               "checkpoint names event " + std::to_string(cp.pruned_seq) +
                   " with a hash that does not match the log");
        return;
      }
    }
    if (first_seq_ == 1 && first_prev_ == kGenesisHash) return;
    for (const auto& cp : checkpoints_)
      if (cp.pruned_seq + 1 == first_seq_ && cp.pruned_hash == first_prev_) return;
    broken(first_seq_, first_file_, first_line_,
           "the log starts at event " + std::to_string(first_seq_) +
               " but no checkpoint vouches for the events before it (files removed?)");
  }

  VerifyResult result_;
  std::uint64_t first_seq_ = 0;
  std::string first_prev_, first_file_;
  std::size_t first_line_ = 0;
  std::vector<Checkpoint> checkpoints_;
  std::map<std::uint64_t, std::string> file_ends_;  // last seq of each file -> its hash
};

}  // namespace

VerifyResult verify_chain(const std::filesystem::path& dir) {
  return Verifier().run(dir);
}

std::string describe(const VerifyResult& r) {
  if (r.intact) return "audit log intact (" + std::to_string(r.events) + " events)";
  return "chain broken at event " + std::to_string(r.broken_event) + " (" + r.file + ":" +
         std::to_string(r.line) + "): " + r.reason;
}

}  // namespace sealpost::audit
