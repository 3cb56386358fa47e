// Address comparison for key lookup: the local part must match exactly (RFC
// 5321 §2.4: it is case-sensitive at the receiving host), the domain case-
// insensitively. A key for "Anna@praxis.example" is not a key for "anna@...".
#pragma once

#include <string>
#include <string_view>

namespace sealpost::keystore {

bool address_matches(std::string_view candidate, std::string_view wanted);
// Lower-cases the domain part only ("Anna@Praxis.Example" -> "Anna@praxis.example").
std::string normalise_address(std::string_view address);
// Pulls the address out of an OpenPGP user id "Name (c) <a@b>" or a bare "a@b".
std::string address_from_uid(std::string_view uid);

}  // namespace sealpost::keystore
