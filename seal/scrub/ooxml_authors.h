// Names of people inside OOXML parts: comment and tracked-change authors in
// Word (w:author, w:initials, w15:person / presenceInfo), Excel comment
// <author> lists, persons and revision user names, PowerPoint comment
// authors. Values are replaced by a neutral "Author" / "A" so every reference
// (comment ids, author ids) still resolves and the document opens unchanged.
#pragma once

#include <string>
#include <string_view>

namespace sealpost::scrub {

// Which rules apply to a package part, by its name; false when the part
// holds no author names (it is then neither decompressed nor rewritten).
bool ooxml_part_may_name_people(std::string_view part_name);

// Rewrites one XML part (named `part_name`); returns how many values changed.
// A small tag lexer (comments, CDATA, processing instructions skipped,
// quoted values respected) so document text is never touched. Linear.
int neutralise_ooxml_authors(std::string_view part_name, std::string_view xml, std::string& out);

}  // namespace sealpost::scrub
