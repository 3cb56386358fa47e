// Test double: an in-memory Spool that records committed messages and can be
// told to fail begin/write/commit the way a full disk would.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "relay/spool/spool.h"

namespace sealpost::test {

struct StoredMessage {
  SpoolEnvelope envelope;
  std::string data;
};

class FakeSpool : public Spool {
 public:
  std::mutex mu;  // commits run on server worker threads
  std::vector<StoredMessage> committed;
  int open_writers = 0;
  bool fail_begin = false;
  bool fail_write = false;
  bool fail_commit = false;

  class FakeWriter : public Writer {
   public:
    explicit FakeWriter(FakeSpool& s) : spool_(s) { ++spool_.open_writers; }
    ~FakeWriter() override { --spool_.open_writers; }
    Result<void> write(std::string_view chunk) override {
      if (spool_.fail_write) return Error::make(452, "4.3.1", "Insufficient system storage");
      data_.append(chunk);
      return {};
    }
    Result<std::string> commit(SpoolEnvelope env) override {
      if (spool_.fail_commit) return Error::make(452, "4.3.1", "Insufficient system storage");
      std::lock_guard lock(spool_.mu);
      env.id = "Q" + std::to_string(spool_.committed.size() + 1);
      spool_.committed.push_back({env, data_});
      return env.id;
    }

   private:
    FakeSpool& spool_;
    std::string data_;
  };

  Result<std::unique_ptr<Writer>> begin() override {
    if (fail_begin) return Error::make(452, "4.3.1", "Insufficient system storage");
    return std::unique_ptr<Writer>(std::make_unique<FakeWriter>(*this));
  }
  Result<SpoolEnvelope> load_envelope(const std::string&) override {
    return Error::plain("not used");
  }
  Result<std::string> data_path(const std::string&) override { return Error::plain("not used"); }
  Result<std::string> load_data(const std::string&) override { return Error::plain("not used"); }
  Result<void> update(const SpoolEnvelope&) override { return Error::plain("not used"); }
  Result<void> remove(const std::string&) override { return Error::plain("not used"); }
  std::vector<std::string> list() override { return {}; }
};

}  // namespace sealpost::test
