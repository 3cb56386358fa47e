# System libraries from Debian 12 (scripts/install-deps installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(yaml-cpp REQUIRED)

pkg_check_modules(GMIME REQUIRED IMPORTED_TARGET gmime-3.0)
pkg_check_modules(GPGME REQUIRED IMPORTED_TARGET gpgme)
# librnp: in-process OpenPGP encryption (keystore/rnp_encryptor.cpp); GPGME
# stays for key listing, import, signing and decryption.
pkg_check_modules(RNP REQUIRED IMPORTED_TARGET librnp)
# libetpan's .pc file carries Debian's no-pie link specs, which clash with our PIE
# and sanitizer builds; link the library directly instead.
pkg_check_modules(ETPAN REQUIRED libetpan)
add_library(Etpan::etpan INTERFACE IMPORTED)
target_include_directories(Etpan::etpan SYSTEM INTERFACE ${ETPAN_INCLUDE_DIRS})
target_link_libraries(Etpan::etpan INTERFACE etpan)
# GnuTLS is libetpan's TLS library; we ask it which protocol version was negotiated.
pkg_check_modules(GNUTLS REQUIRED IMPORTED_TARGET gnutls)
pkg_check_modules(ARGON2 REQUIRED IMPORTED_TARGET libargon2)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(SQLITE REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(EXIV2 REQUIRED IMPORTED_TARGET exiv2)
pkg_check_modules(QPDF REQUIRED IMPORTED_TARGET libqpdf)
pkg_check_modules(GUMBO REQUIRED IMPORTED_TARGET gumbo)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
# libcurl (GnuTLS flavour, like libetpan): the portal's HTTPS SMS webhook.
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)

if(SEALPOST_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()
