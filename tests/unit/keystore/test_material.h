// Keys and certificates made at test time with the gpg and openssl command
// line tools, in a throw-away directory (short path: gpg-agent socket names
// must fit in sun_path).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace sealpost::testing {

inline std::string sh(const std::string& cmd) {
  const std::string full = cmd + " 2>/dev/null";
  std::string out;
  FILE* p = ::popen(full.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed");
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (::pclose(p) != 0) throw std::runtime_error("command failed: " + cmd);
  return out;
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class Workdir {
 public:
  Workdir() {
    char tmpl[] = "/tmp/spks.XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
  }
  ~Workdir() {
    // End gpg-agents started for homes below us, then remove everything.
    for (const auto& h : {dir_ / "gpg", dir_ / "state" / "gnupg"})
      if (std::filesystem::exists(h))
        std::system(("gpgconf --homedir " + h.string() + " --kill all >/dev/null 2>&1").c_str());
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::filesystem::path& path() const { return dir_; }
  std::string operator/(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

// A separate GnuPG home that plays "the outside world" making keys.
class GpgWorld {
 public:
  explicit GpgWorld(const Workdir& w) : home_(w / "gpg") {
    std::filesystem::create_directories(home_);
    std::filesystem::permissions(home_, std::filesystem::perms::owner_all);
    std::ofstream(home_ + "/gpg.conf") << "no-random-seed-file\n";
  }
  std::string gpg(const std::string& args) const {
    return sh("gpg --homedir " + home_ +
              " --batch --yes --pinentry-mode loopback --passphrase '' " + args);
  }
  // Returns the fingerprint of the new key.
  std::string gen(const std::string& uid, const std::string& algo = "default",
                  const std::string& usage = "default", const std::string& expire = "never",
                  const std::string& extra = "") const {
    gpg(extra + " --quick-gen-key '" + uid + "' " + algo + " " + usage + " " + expire);
    const std::string out = gpg("--with-colons --list-keys '" + uid + "'");
    const auto pos = out.find("\nfpr:");
    if (pos == std::string::npos) throw std::runtime_error("no fingerprint");
    const auto start = out.find_first_not_of(':', pos + 5);
    return out.substr(start, 40);
  }
  std::string export_key(const std::string& fpr) const { return gpg("--armor --export " + fpr); }
  void revoke(const std::string& fpr) const {
    // gpg writes a revocation certificate for every new key; its armor line
    // is escaped with ':' so it cannot be imported by accident.
    sh("sed 's/^:-----/-----/' " + home_ + "/openpgp-revocs.d/" + fpr + ".rev > " + home_ +
       "/rev.asc");
    gpg("--import " + home_ + "/rev.asc");
  }

 private:
  std::string home_;
};

// A throw-away CA issuing S/MIME certificates with chosen properties.
class CertWorld {
 public:
  CertWorld(const Workdir& w, const std::string& name) : dir_(w / name) {
    std::filesystem::create_directories(dir_);
    sh("openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/CN=" + name + "' -keyout " +
       dir_ + "/ca.key -out " + dir_ + "/ca.pem -addext basicConstraints=critical,CA:TRUE" +
       " -addext keyUsage=critical,keyCertSign,cRLSign");
  }
  std::string ca_pem() const { return dir_ + "/ca.pem"; }
  // Returns the PEM path.
  std::string issue(const std::string& stem, const std::string& address,
                    const std::string& key_usage = "digitalSignature,keyEncipherment",
                    const std::string& eku = "emailProtection", int days = 30,
                    const std::string& key = "rsa:2048") const {
    const std::string base = dir_ + "/" + stem;
    const std::string newkey =
        key == "ec" ? "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1" : "-newkey " + key;
    sh("openssl req -new " + newkey + " -nodes -subj '/CN=" + stem + "' -keyout " + base +
       ".key -out " + base + ".csr");
    std::ofstream ext(base + ".ext");
    ext << "subjectAltName=email:" << address << "\n";
    if (!key_usage.empty()) ext << "keyUsage=critical," << key_usage << "\n";
    if (!eku.empty()) ext << "extendedKeyUsage=" << eku << "\n";
    ext.close();
    sh("openssl x509 -req -in " + base + ".csr -CA " + dir_ + "/ca.pem -CAkey " + dir_ +
       "/ca.key -CAcreateserial -days " + std::to_string(days) + " -extfile " + base +
       ".ext -out " + base + ".pem");
    return base + ".pem";
  }
  // Marks `cert_pem` revoked in this CA's database (openssl ca -revoke).
  void revoke(const std::string& cert_pem) const {
    sh("openssl ca -config " + ca_config() + " -revoke " + cert_pem);
  }
  // Writes this CA's CRL (PEM) to `out`; `extra` e.g. "-crl_nextupdate 200201000000Z".
  void crl(const std::string& out, const std::string& extra = "") const {
    sh("openssl ca -config " + ca_config() + " -gencrl " + extra + " -out " + out);
  }

 private:
  // The minimal `openssl ca` setup for revocations and CRLs, made on first use.
  std::string ca_config() const {
    const std::string conf = dir_ + "/ca.cnf";
    if (!std::filesystem::exists(conf)) {
      std::ofstream(dir_ + "/index.txt").close();
      std::ofstream(dir_ + "/crlnumber") << "1000\n";
      std::ofstream(conf) << "[ ca ]\ndefault_ca = CA_default\n[ CA_default ]\n"
                          << "database = " << dir_ << "/index.txt\n"
                          << "crlnumber = " << dir_ << "/crlnumber\n"
                          << "default_md = sha256\ndefault_crl_days = 30\n"
                          << "certificate = " << dir_ << "/ca.pem\n"
                          << "private_key = " << dir_ << "/ca.key\n";
    }
    return conf;
  }

  std::string dir_;
};

}  // namespace sealpost::testing
