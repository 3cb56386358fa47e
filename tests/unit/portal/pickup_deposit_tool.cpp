// Test helper standing in for sealpostd until it deposits pickups itself:
// reads a message on stdin, deposits it through StorePickupService and prints
// {"id": ..., "url": ..., "expires": ...}. Optionally writes the notice mail.
//
//   pickup_deposit_tool --state-dir D --public-url U --recipient R --sender S
//       --auth sms|passphrase|code-to-sender [--sms-number N] [--passphrase P]
//       [--expires SECONDS] [--notice-out FILE --templates DIR --practice-name NAME]
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <string>

#include "common/durable_file.h"
#include "portal/notice.h"
#include "portal/pickup_store.h"
#include "portal/second_factor.h"

using namespace sealpost;

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0) {
      std::fprintf(stderr, "bad option %s\n", argv[i]);
      return 2;
    }
    opt[k.substr(2)] = argv[i + 1];
  }
  for (const char* required : {"state-dir", "public-url", "recipient", "sender", "auth"})
    if (!opt.count(required)) {
      std::fprintf(stderr, "missing --%s\n", required);
      return 2;
    }
  std::string mime((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());

  auto store = pickup::PickupStore::open(std::filesystem::path(opt["state-dir"]) / "pickup");
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().what().c_str());
    return 1;
  }
  PickupRequest req;
  req.queue_id = "test";
  req.recipient = opt["recipient"];
  req.sender = opt["sender"];
  req.auth_method = opt["auth"];
  req.sms_number = opt["sms-number"];
  if (opt.count("expires")) req.expires = std::chrono::seconds(std::stoll(opt["expires"]));
  if (opt.count("passphrase")) {
    auto h = pickup::hash_passphrase(opt["passphrase"]);
    if (!h) return 1;
    req.passphrase_hash = *h;
  }
  pickup::StorePickupService service(**store, opt["public-url"]);
  auto d = service.deposit(req, mime);
  if (!d) {
    std::fprintf(stderr, "%s\n", d.error().what().c_str());
    return 1;
  }
  if (opt.count("notice-out")) {
    pickup::NoticeParams p;
    p.from_address = opt["sender"];
    p.to_address = req.recipient;
    p.practice_name = opt.count("practice-name") ? opt["practice-name"] : "Praxis";
    p.link = d->url;
    p.expires_at = d->expires_at;
    p.auth_method = req.auth_method;
    if (opt.count("templates")) p.templates_dir = opt["templates"];
    auto n = pickup::compose_notice(p);
    if (!n) {
      std::fprintf(stderr, "%s\n", n.error().what().c_str());
      return 1;
    }
    if (auto w = write_file_durable(opt["notice-out"], *n); !w) return 1;
  }
  std::printf("{\"id\": \"%s\", \"url\": \"%s\", \"expires\": %lld}\n", d->pickup_id.c_str(),
              d->url.c_str(), static_cast<long long>(d->expires_at));
  return 0;
}
