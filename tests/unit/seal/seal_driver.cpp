// Test driver for the integration tests (tests/integration/test_encryption.py)
// and for hand benchmarks: runs the real SealingTransformer on a message read
// from stdin and writes every outgoing message to OUTDIR/<n>-<method>.eml and
// every hold to OUTDIR/held.txt.
//
//   seal_driver STATE_DIR OUTDIR --from A --to B [--to C]... [--anchor PEM]...
//               [--import FILE]... [--plan ADDR=METHOD[:CIPHER][:nosign]]...
//               [--repeat N]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "seal/default_decider.h"
#include "seal/sealing_transformer.h"

using namespace sealpost;

namespace {

struct Override {
  policy::Method method;
  std::string cipher = "aes256-cbc";
  bool sign = true;
};

bool parse_method(const std::string& s, policy::Method& m) {
  static const std::map<std::string, policy::Method> kNames{
      {"pgp", policy::Method::Pgp},       {"smime", policy::Method::Smime},
      {"plain", policy::Method::Plain},   {"pickup", policy::Method::Pickup},
      {"reject", policy::Method::Reject}, {"defer", policy::Method::Defer}};
  auto it = kNames.find(s);
  if (it == kNames.end()) return false;
  m = it->second;
  return true;
}

int usage() {
  std::cerr
      << "usage: seal_driver STATE_DIR OUTDIR --from A --to B [--anchor F] [--import F]"
         " [--domain-signer ADDR] [--plan ADDR=METHOD[:CIPHER][:nosign]] [--repeat N] < message\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  keystore::KeystoreOptions ko;
  ko.state_dir = argv[1];
  const std::filesystem::path outdir = argv[2];
  std::string from;
  std::vector<std::string> to, imports;
  std::map<std::string, Override> plan;
  int repeat = 1;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string opt = argv[i], val = argv[i + 1];
    if (opt == "--from") {
      from = val;
    } else if (opt == "--to") {
      to.push_back(val);
    } else if (opt == "--anchor") {
      ko.trust_anchors.push_back(val);
    } else if (opt == "--domain-signer") {
      ko.domain_signers.push_back(val);
    } else if (opt == "--import") {
      imports.push_back(val);
    } else if (opt == "--repeat") {
      repeat = std::stoi(val);
    } else if (opt == "--plan") {
      const auto eq = val.find('=');
      if (eq == std::string::npos) return usage();
      Override o;
      std::stringstream parts(val.substr(eq + 1));
      std::string item;
      std::getline(parts, item, ':');
      if (!parse_method(item, o.method)) return usage();
      while (std::getline(parts, item, ':')) {
        if (item == "nosign")
          o.sign = false;
        else
          o.cipher = item;
      }
      plan[val.substr(0, eq)] = o;
    } else {
      return usage();
    }
  }
  if (to.empty()) return usage();
  auto ks = keystore::Keystore::open(ko);
  if (!ks) {
    std::cerr << "keystore: " << ks.error().what() << "\n";
    return 1;
  }
  for (const auto& f : imports) {
    auto r = (*ks)->import_file(f);
    if (!r) {
      std::cerr << "import " << f << ": " << r.error().what() << "\n";
      return 1;
    }
  }
  seal::SealingOptions so;
  so.keystore = ks->get();
  so.hostname = "relay.test";
  if (!plan.empty()) {
    so.decide = [&plan](const policy::EnvelopeFacts& e, const policy::MessageFacts& m,
                        const std::map<std::string, policy::KeyAvailability>& k) {
      policy::Plan p = seal::default_decide(e, m, k);
      for (auto& rp : p.recipients) {
        auto it = plan.find(rp.address);
        if (it == plan.end()) continue;
        rp.method = it->second.method;
        rp.smime_cipher = it->second.cipher;
        rp.sign = it->second.sign;
        rp.rule = "driver";
      }
      return p;
    };
  }
  seal::SealingTransformer transformer(so);
  const std::string data((std::istreambuf_iterator<char>(std::cin)),
                         std::istreambuf_iterator<char>());
  SpoolEnvelope env;
  env.id = "drivertest";
  env.mail_from = from;
  env.body = "8BITMIME";
  std::vector<SpoolRecipient> pending;
  for (const auto& a : to) {
    SpoolRecipient r;
    r.address = a;
    pending.push_back(r);
  }

  TransformResult result;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < repeat; ++i) result = transformer.prepare(env, pending, data);
  const auto t1 = std::chrono::steady_clock::now();
  if (repeat > 1)
    std::fprintf(stderr, "%.3f ms/message\n",
                 std::chrono::duration<double, std::milli>(t1 - t0).count() / repeat);

  std::filesystem::create_directories(outdir);
  int n = 0;
  for (const auto& pm : result.outgoing) {
    std::ofstream out(outdir / (std::to_string(n++) + "-" + pm.method + ".eml"), std::ios::binary);
    auto bytes = pm.message.data.to_string(SIZE_MAX);
    if (!bytes) {
      std::fprintf(stderr, "seal_driver: %s\n", bytes.error().what().c_str());
      return 1;
    }
    out << *bytes;
    std::ofstream rc(outdir / (std::to_string(n - 1) + "-" + pm.method + ".rcpts"));
    for (const auto& r : pm.message.rcpts) rc << r.address << "\n";
  }
  std::ofstream held(outdir / "held.txt");
  for (const auto& h : result.held)
    held << h.address << " " << h.error.smtp_code << " " << h.error.enhanced << " "
         << h.error.what() << "\n";
  return 0;
}
