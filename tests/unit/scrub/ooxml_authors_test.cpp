#include "seal/scrub/ooxml_authors.h"

#include <catch2/catch.hpp>
#include <string>

using sealpost::scrub::neutralise_ooxml_authors;
using sealpost::scrub::ooxml_part_may_name_people;

TEST_CASE("which OOXML parts are read for names") {
  CHECK(ooxml_part_may_name_people("word/comments.xml"));
  CHECK(ooxml_part_may_name_people("word/document.xml"));
  CHECK(ooxml_part_may_name_people("word/people.xml"));
  CHECK(ooxml_part_may_name_people("xl/comments1.xml"));
  CHECK(ooxml_part_may_name_people("xl/persons/person.xml"));
  CHECK(ooxml_part_may_name_people("ppt/commentAuthors.xml"));
  CHECK_FALSE(ooxml_part_may_name_people("word/media/image1.png"));
  CHECK_FALSE(ooxml_part_may_name_people("xl/worksheets/sheet1.xml"));
  CHECK_FALSE(ooxml_part_may_name_people("docProps/core.xml"));  // replaced whole elsewhere
}

TEST_CASE("Word comment and tracked-change authors become neutral; text is untouched") {
  const std::string xml =
      "<?xml version=\"1.0\"?><w:document xmlns:w=\"x\"><!-- w:author=\"keep\" -->"
      "<w:ins w:id=\"1\" w:author=\"Dr Secret\" w:date=\"2026-11-26T10:00:00Z\">"
      "<w:r><w:t>author=\"Dr Secret\" wrote</w:t></w:r></w:ins>"
      "<w:comment w:id='0' w:author='Dr Secret' w:initials = 'DS'/>"
      "<w15:person w15:author=\"Dr Secret\"><w15:presenceInfo w15:providerId=\"AD\" "
      "w15:userId=\"S::anna@praxis.example::1234\"/></w15:person>"
      "<![CDATA[ w:author=\"x\" ]]></w:document>";
  std::string out;
  CHECK(neutralise_ooxml_authors("word/document.xml", xml, out) == 6);
  CHECK(out.find("w:author=\"Author\" w:date=\"2026-11-26T10:00:00Z\"") != std::string::npos);
  CHECK(out.find("w:author='Author' w:initials = 'A'") != std::string::npos);
  CHECK(out.find("w15:providerId=\"None\" w15:userId=\"Author\"") != std::string::npos);
  CHECK(out.find("anna@") == std::string::npos);
  // Document text, comments and CDATA that merely look like attributes stay.
  CHECK(out.find("<w:t>author=\"Dr Secret\" wrote</w:t>") != std::string::npos);
  CHECK(out.find("<!-- w:author=\"keep\" -->") != std::string::npos);
  CHECK(out.find("<![CDATA[ w:author=\"x\" ]]>") != std::string::npos);
  // Already neutral: nothing to change, byte for byte.
  std::string again;
  CHECK(neutralise_ooxml_authors("word/document.xml", out, again) == 0);
  CHECK(again == out);
}

TEST_CASE("Excel comment author lists and PowerPoint comment authors") {
  std::string out;
  CHECK(neutralise_ooxml_authors("xl/comments1.xml",
                                 "<comments><authors><author>Dr Secret</author><author>WS-042\\anna"
                                 "</author></authors><commentList/></comments>",
                                 out) == 2);
  CHECK(out ==
        "<comments><authors><author>Author</author><author>Author</author></authors>"
        "<commentList/></comments>");
  // Already neutral (a file scrubbed once before): kept byte for byte, not
  // emptied (found by fuzzing: the name vanished, "<author></author>").
  std::string again;
  CHECK(neutralise_ooxml_authors("xl/comments1.xml", out, again) == 0);
  CHECK(again == out);
  CHECK(neutralise_ooxml_authors(
            "ppt/commentAuthors.xml",
            "<p:cmAuthorLst><p:cmAuthor id=\"0\" name=\"Dr Secret\" initials=\"DS\" lastIdx=\"1\"/>"
            "</p:cmAuthorLst>",
            out) == 2);
  CHECK(out.find("name=\"Author\" initials=\"A\" lastIdx=\"1\"") != std::string::npos);
  // Broken markup ends without reading past the input.
  CHECK(neutralise_ooxml_authors("word/comments.xml", "<w:comment w:author=\"unterminated", out) ==
        0);
  CHECK(neutralise_ooxml_authors("word/comments.xml", "<w:c a=", out) == 0);
  CHECK(neutralise_ooxml_authors("word/comments.xml", "<", out) == 0);
}
