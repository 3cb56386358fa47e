// scrub_tool IN.eml OUT.eml [--relay-hostname H] [--message-id-key K] [--allow-headers]
//            [--pass-unscrubbable]
// Test and diagnostic driver for the scrub until sealpostd runs it in the
// SealingTransformer. Prints the summary to stdout. Exit 0 = scrubbed,
// 3 = held (OUT is still written so the cause can be inspected), 2 = usage/IO.
#include <fcntl.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "seal/gmime_ptr.h"
#include "seal/scrub/scrub.h"

using sealpost::seal::GPtr;

int main(int argc, char** argv) {
  if (argc < 3) {
    (void)std::fprintf(stderr,
                       "usage: scrub_tool IN.eml OUT.eml [--relay-hostname H] [--message-id-key K] "
                       "[--allow-headers] [--pass-unscrubbable]\n");
    return 2;
  }
  sealpost::ScrubProfile profile;
  sealpost::scrub::ScrubContext ctx{.relay_hostname = "relay.invalid"};
  for (int i = 3; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--relay-hostname") && i + 1 < argc)
      ctx.relay_hostname = argv[++i];
    else if (!std::strcmp(argv[i], "--message-id-key") && i + 1 < argc)
      ctx.message_id_key = argv[++i];  // stable mapping, as sealpostd's key file gives
    else if (!std::strcmp(argv[i], "--allow-headers"))
      profile.header_mode = sealpost::ScrubProfile::HeaderMode::Allow;
    else if (!std::strcmp(argv[i], "--pass-unscrubbable"))
      profile.pass_unscrubbable = true;
    else {
      (void)std::fprintf(stderr, "scrub_tool: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  sealpost::seal::ensure_gmime();
  GError* err = nullptr;
  GPtr<GMimeStream> in(g_mime_stream_fs_open(argv[1], O_RDONLY, 0, &err));
  if (!in) {
    if (err) g_error_free(err);
    (void)std::fprintf(stderr, "scrub_tool: cannot open input\n");
    return 2;
  }
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(in.get()));
  GPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!msg) {
    (void)std::fprintf(stderr, "scrub_tool: not a MIME message\n");
    return 2;
  }
  const auto report = sealpost::scrub::scrub_message(msg.get(), profile, ctx);
  const std::string out = sealpost::seal::to_crlf_string(GMIME_OBJECT(msg.get()));
  FILE* f = std::fopen(argv[2], "wb");
  if (!f || std::fwrite(out.data(), 1, out.size(), f) != out.size() || std::fclose(f) != 0) {
    (void)std::fprintf(stderr, "scrub_tool: cannot write output\n");
    return 2;
  }
  (void)std::printf("%s\n", report.summary().c_str());
  for (const auto& r : report.held) (void)std::printf("held: %s\n", r.c_str());
  return report.held.empty() ? 0 : 3;
}
