#include "imap/imap_session.h"

#include <openssl/crypto.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "common/durable_file.h"
#include "relay/delivery/tcp_connect.h"
#include "relay/delivery/tls_handshake.h"
#include "relay/delivery/tls_peer_verify.h"

namespace sealpost::imap {
namespace {

constexpr std::chrono::seconds kConnectTimeout{30};
constexpr time_t kCommandTimeout = 120;
constexpr std::size_t kMaxMessage = 50u << 20;

// RAII for the libetpan structures the commands below build and receive.
struct SetFree {
  void operator()(mailimap_set* s) const { mailimap_set_free(s); }
};
struct FetchTypeFree {
  void operator()(mailimap_fetch_type* f) const { mailimap_fetch_type_free(f); }
};
struct FetchListFree {
  void operator()(clist* l) const { mailimap_fetch_list_free(l); }
};
struct ListResultFree {
  void operator()(clist* l) const { mailimap_list_result_free(l); }
};
struct StoreFlagsFree {
  void operator()(mailimap_store_att_flags* f) const { mailimap_store_att_flags_free(f); }
};
struct SearchKeyFree {
  void operator()(mailimap_search_key* k) const { mailimap_search_key_free(k); }
};
struct SearchResultFree {
  void operator()(clist* l) const { mailimap_search_result_free(l); }
};
struct CapabilityFree {
  void operator()(mailimap_capability_data* c) const { mailimap_capability_data_free(c); }
};
using SetPtr = std::unique_ptr<mailimap_set, SetFree>;
using FetchTypePtr = std::unique_ptr<mailimap_fetch_type, FetchTypeFree>;
using FetchListPtr = std::unique_ptr<clist, FetchListFree>;

// Wipes the password as soon as LOGIN has sent it.
struct Secret {
  std::string value;
  ~Secret() { OPENSSL_cleanse(value.data(), value.size()); }
};

// Walks one FETCH response item list for the static attributes we asked for.
template <class F>
void for_each_static(mailimap_msg_att* att, F&& fn) {
  for (clistiter* it = clist_begin(att->att_list); it; it = clist_next(it)) {
    auto* item = static_cast<mailimap_msg_att_item*>(clist_content(it));
    if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC) fn(item->att_data.att_static);
  }
}

}  // namespace

Error ImapSession::failed(const std::string& step, int rc) const {
  std::string detail = step + " failed (libetpan " + std::to_string(rc) + ")";
  // The server's tagged response text (e.g. "[AUTHENTICATIONFAILED] ...") never
  // carries our password; it helps the admin. After a broken connection it is
  // the previous command's answer, which would only mislead.
  if (rc == MAILIMAP_ERROR_STREAM)
    detail += ": connection lost";
  else if (s_ && s_->imap_response)
    detail += ": " + std::string(s_->imap_response);
  return Error::temp("4.4.0", "IMAP " + step + " failed", detail);
}

Result<std::unique_ptr<ImapSession>> ImapSession::open(const ImapAccountConfig& cfg,
                                                       SocketRegistry* sockets) {
  auto fd = delivery::tcp_connect(cfg.host, cfg.port, kConnectTimeout);
  if (!fd) return fd.error();
  std::unique_ptr<ImapSession> session(new ImapSession(cfg));
  if (sockets) {
    if (!sockets->add(fd->get())) return Error::temp("4.3.2", "IMAP shutting down");
    // Declared after `fd`: on an early return the session (and with it the
    // registration) ends before `fd` closes the descriptor.
    session->registration_.assign(sockets, fd->get());
  }
  session->s_.reset(mailimap_new(0, nullptr));
  if (!session->s_) return Error::temp("4.3.0", "out of memory");
  mailstream* stream = nullptr;
  delivery::TlsHandshake handshake(cfg.host);
  if (cfg.tls == TlsMode::Implicit) {
    stream = mailstream_ssl_open_with_callback_timeout(
        fd->get(), static_cast<time_t>(kConnectTimeout.count()), delivery::TlsHandshake::callback,
        &handshake);
    if (!stream) return Error::temp("4.4.2", "IMAP TLS handshake failed", "TLS with " + cfg.host);
  } else {
    stream =
        mailstream_socket_open_timeout(fd->get(), static_cast<time_t>(kConnectTimeout.count()));
    if (!stream) return Error::temp("4.4.2", "cannot create stream");
  }
  fd->release();  // the stream owns the descriptor now
  mailstream_low_set_timeout(mailstream_get_low(stream), kCommandTimeout);
  if (cfg.tls == TlsMode::Implicit) {
    // Verify before even the greeting is read.
    session->s_->imap_stream = stream;
    auto v = session->verify_peer(handshake);
    session->s_->imap_stream = nullptr;
    if (!v) {
      session->registration_.reset();  // before the descriptor closes
      mailstream_close(stream);
      return v.error();
    }
  }
  const int rc = mailimap_connect(session->s_.get(), stream);  // takes the stream
  if (rc != MAILIMAP_NO_ERROR_NON_AUTHENTICATED && rc != MAILIMAP_NO_ERROR_AUTHENTICATED)
    return session->failed("greeting", rc);
  if (cfg.tls == TlsMode::StartTls) {
    if (auto t = session->start_tls(); !t) return t.error();
  }
  if (auto l = session->login(); !l) return l.error();
  return session;
}

ImapSession::~ImapSession() {
  if (s_ && s_->imap_stream) mailimap_logout(s_.get());
}

Result<void> ImapSession::start_tls() {
  // Capabilities seen before TLS are not trusted; STARTTLS is simply required.
  if (int rc = mailimap_starttls(s_.get()); rc != MAILIMAP_NO_ERROR) return failed("STARTTLS", rc);
  mailstream* stream = s_->imap_stream;
  // Bytes already buffered arrived before TLS and could be an injection
  // (CVE-2011-0411 class): refuse instead of reading them as if protected.
  if (stream->read_buffer_len != 0)
    return Error::temp("4.4.2", "IMAP STARTTLS failed", "data received after STARTTLS reply");
  mailstream_low* plain = mailstream_get_low(stream);
  delivery::TlsHandshake handshake(cfg_.host);
  mailstream_low* tls = mailstream_low_tls_open_with_callback_timeout(
      mailstream_low_get_fd(plain), static_cast<time_t>(kConnectTimeout.count()),
      delivery::TlsHandshake::callback, &handshake);
  if (!tls) return Error::temp("4.4.2", "IMAP TLS handshake failed", "STARTTLS with " + cfg_.host);
  mailstream_low_free(plain);  // frees the plain driver without closing the fd
  mailstream_set_low(stream, tls);
  mailstream_low_set_timeout(tls, kCommandTimeout);
  if (auto v = verify_peer(handshake); !v) return v;
  // The pre-TLS capability list may have been forged: ask again.
  mailimap_capability_data* cap = nullptr;
  if (mailimap_capability(s_.get(), &cap) == MAILIMAP_NO_ERROR)
    std::unique_ptr<mailimap_capability_data, CapabilityFree> owned(cap);
  return {};
}

Result<void> ImapSession::verify_peer(const delivery::TlsHandshake& handshake) {
  // An outdated protocol version is refused like an untrusted certificate.
  if (auto m = handshake.require_modern(mailstream_get_low(s_->imap_stream)); !m)
    return Error::temp("4.7.5", "IMAP server TLS version too old", m.error().what());
  carray* chain = mailstream_get_certificate_chain(s_->imap_stream);
  std::vector<std::string> der;
  if (chain) {
    for (unsigned i = 0; i < carray_count(chain); ++i) {
      const auto* m = static_cast<MMAPString*>(carray_get(chain, i));
      der.emplace_back(m->str, m->len);
    }
    mailstream_certificate_chain_free(chain);
  }
  auto r = delivery::verify_peer_chain(der, cfg_.ca_file, cfg_.host);
  if (!r) return Error::temp("4.7.5", "IMAP server certificate not trusted", r.error().what());
  return {};
}

Result<void> ImapSession::login() {
  auto text = read_file(cfg_.password_file, 4096);
  if (!text) return Error::temp("4.7.0", "IMAP password unavailable", text.error().what());
  Secret pw{std::move(*text)};
  while (!pw.value.empty() && (pw.value.back() == '\n' || pw.value.back() == '\r'))
    pw.value.pop_back();
  const int rc = mailimap_login(s_.get(), cfg_.username.c_str(), pw.value.c_str());
  if (rc != MAILIMAP_NO_ERROR) return failed("LOGIN", rc);
  // Refresh capabilities: the ones announced before LOGIN may be a subset.
  mailimap_capability_data* cap = nullptr;
  if (mailimap_capability(s_.get(), &cap) == MAILIMAP_NO_ERROR)
    std::unique_ptr<mailimap_capability_data, CapabilityFree> owned(cap);
  return {};
}

Result<FolderState> ImapSession::select(const std::string& folder) {
  const int rc = mailimap_select(s_.get(), folder.c_str());
  if (rc != MAILIMAP_NO_ERROR) return failed("SELECT " + folder, rc);
  FolderState st;
  if (s_->imap_selection_info) {
    st.uidvalidity = s_->imap_selection_info->sel_uidvalidity;
    st.uidnext = s_->imap_selection_info->sel_uidnext;
  }
  if (st.uidvalidity == 0) return Error::temp("4.4.0", "IMAP", "server sent no UIDVALIDITY");
  return st;
}

Result<FolderState> ImapSession::examine(const std::string& folder) {
  const int rc = mailimap_examine(s_.get(), folder.c_str());
  if (rc != MAILIMAP_NO_ERROR) return failed("EXAMINE " + folder, rc);
  FolderState st;
  if (s_->imap_selection_info) {
    st.uidvalidity = s_->imap_selection_info->sel_uidvalidity;
    st.uidnext = s_->imap_selection_info->sel_uidnext;
  }
  return st;
}

Result<std::vector<std::uint32_t>> ImapSession::search_header(const std::string& name,
                                                              const std::string& value) {
  // The key takes ownership of the strings it is given (freed with it).
  char* field = ::strdup(name.c_str());
  char* text = ::strdup(value.c_str());
  mailimap_search_key* made = field && text ? mailimap_search_key_new_header(field, text) : nullptr;
  if (!made) {
    std::free(field);  // NOLINT(cppcoreguidelines-no-malloc): strdup's memory
    std::free(text);   // NOLINT(cppcoreguidelines-no-malloc)
    return Error::temp("4.3.0", "out of memory");
  }
  // The analyzer does not know that the key now owns field and text.
  // NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
  std::unique_ptr<mailimap_search_key, SearchKeyFree> key(made);
  clist* raw = nullptr;
  const int rc = mailimap_uid_search(s_.get(), nullptr, key.get(), &raw);
  std::unique_ptr<clist, SearchResultFree> result(raw);
  if (rc != MAILIMAP_NO_ERROR) return failed("UID SEARCH", rc);
  std::vector<std::uint32_t> uids;
  for (clistiter* it = clist_begin(result.get()); it; it = clist_next(it))
    uids.push_back(*static_cast<std::uint32_t*>(clist_content(it)));
  std::sort(uids.begin(), uids.end());
  return uids;
}

Result<std::vector<std::uint32_t>> ImapSession::uids_after(std::uint32_t after) {
  SetPtr set(mailimap_set_new_interval(after + 1, 0));  // 0 = "*"
  FetchTypePtr type(mailimap_fetch_type_new_fetch_att_list_empty());
  mailimap_fetch_type_new_fetch_att_list_add(type.get(), mailimap_fetch_att_new_uid());
  clist* raw = nullptr;
  const int rc = mailimap_uid_fetch(s_.get(), set.get(), type.get(), &raw);
  FetchListPtr list(raw);
  if (rc != MAILIMAP_NO_ERROR) return failed("UID FETCH", rc);
  std::vector<std::uint32_t> uids;
  for (clistiter* it = clist_begin(list.get()); it; it = clist_next(it)) {
    for_each_static(static_cast<mailimap_msg_att*>(clist_content(it)), [&](auto* st) {
      // "n:*" also returns the highest message when all UIDs are below n.
      if (st->att_type == MAILIMAP_MSG_ATT_UID && st->att_data.att_uid > after)
        uids.push_back(st->att_data.att_uid);
    });
  }
  std::sort(uids.begin(), uids.end());
  return uids;
}

Result<FetchedMessage> ImapSession::fetch(std::uint32_t uid) {
  SetPtr set(mailimap_set_new_single(uid));
  FetchTypePtr type(mailimap_fetch_type_new_fetch_att_list_empty());
  mailimap_fetch_type_new_fetch_att_list_add(type.get(), mailimap_fetch_att_new_uid());
  mailimap_fetch_type_new_fetch_att_list_add(type.get(), mailimap_fetch_att_new_rfc822_size());
  // BODY.PEEK[] leaves \Seen alone: staff still see the original as unread.
  mailimap_fetch_type_new_fetch_att_list_add(
      type.get(), mailimap_fetch_att_new_body_peek_section(mailimap_section_new(nullptr)));
  clist* raw = nullptr;
  const int rc = mailimap_uid_fetch(s_.get(), set.get(), type.get(), &raw);
  FetchListPtr list(raw);
  if (rc != MAILIMAP_NO_ERROR) return failed("UID FETCH", rc);
  FetchedMessage out;
  bool found = false;
  for (clistiter* it = clist_begin(list.get()); it; it = clist_next(it)) {
    std::uint32_t got_uid = 0;
    std::string body;
    bool has_body = false;
    for_each_static(static_cast<mailimap_msg_att*>(clist_content(it)), [&](auto* st) {
      if (st->att_type == MAILIMAP_MSG_ATT_UID) got_uid = st->att_data.att_uid;
      if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION && st->att_data.att_body_section &&
          st->att_data.att_body_section->sec_body_part) {
        const auto* sec = st->att_data.att_body_section;
        body.assign(sec->sec_body_part, std::min(sec->sec_length, kMaxMessage + 1));
        has_body = true;
      }
    });
    if (got_uid == uid && has_body) {
      out.uid = uid;
      out.data = std::move(body);
      found = true;
    }
  }
  if (!found) return Error::perm("5.6.0", "message vanished", "UID " + std::to_string(uid));
  return out;
}

Result<void> ImapSession::append(const std::string& folder, const std::string& message) {
  const int rc =
      mailimap_append(s_.get(), folder.c_str(), nullptr, nullptr, message.data(), message.size());
  if (rc == MAILIMAP_ERROR_APPEND) {
    // The server answered NO/BAD: a refusal, not a lost connection.
    std::string detail = "APPEND refused";
    if (s_->imap_response) detail += ": " + std::string(s_->imap_response);
    return Error::perm("5.3.0", "IMAP APPEND refused", detail);
  }
  if (rc != MAILIMAP_NO_ERROR) return failed("APPEND", rc);
  return {};
}

bool ImapSession::has_idle() {
  return mailimap_has_idle(s_.get()) != 0;
}

Result<void> ImapSession::idle(std::chrono::seconds timeout, int wake_fd) {
  if (int rc = mailimap_idle(s_.get()); rc != MAILIMAP_NO_ERROR) return failed("IDLE", rc);
  // Data libetpan already buffered would never wake poll(): only wait when empty.
  if (s_->imap_stream->read_buffer_len == 0) {
    pollfd fds[2] = {{mailimap_idle_get_fd(s_.get()), POLLIN, 0}, {wake_fd, POLLIN, 0}};
    const int ms = static_cast<int>(std::chrono::milliseconds(timeout).count());
    if (::poll(fds, 2, ms) < 0 && errno != EINTR)
      return Error::temp("4.4.0", "IMAP IDLE", "poll failed");
  }
  if (int rc = mailimap_idle_done(s_.get()); rc != MAILIMAP_NO_ERROR)
    return failed("IDLE DONE", rc);
  return {};
}

Result<char> ImapSession::delimiter() {
  clist* raw = nullptr;
  const int rc = mailimap_list(s_.get(), "", "", &raw);
  std::unique_ptr<clist, ListResultFree> list(raw);
  if (rc != MAILIMAP_NO_ERROR) return failed("LIST", rc);
  if (list && clist_begin(list.get())) {
    auto* mb = static_cast<mailimap_mailbox_list*>(clist_content(clist_begin(list.get())));
    if (mb->mb_delimiter) return mb->mb_delimiter;
  }
  return '/';
}

Result<void> ImapSession::ensure_folder(const std::string& folder) {
  clist* raw = nullptr;
  const int rc = mailimap_list(s_.get(), "", folder.c_str(), &raw);
  std::unique_ptr<clist, ListResultFree> list(raw);
  if (rc != MAILIMAP_NO_ERROR) return failed("LIST", rc);
  if (list && clist_count(list.get()) > 0) return {};
  const int cr = mailimap_create(s_.get(), folder.c_str());
  if (cr != MAILIMAP_NO_ERROR) return failed("CREATE " + folder, cr);
  return {};
}

Result<MoveResult> ImapSession::move(std::uint32_t uid, const std::string& folder) {
  SetPtr set(mailimap_set_new_single(uid));
  if (mailimap_has_extension(s_.get(), const_cast<char*>("MOVE"))) {
    const int rc = mailimap_uid_move(s_.get(), set.get(), folder.c_str());
    if (rc != MAILIMAP_NO_ERROR) return failed("UID MOVE", rc);
    return MoveResult::Moved;
  }
  // Copy first: the original is only flagged once a copy exists.
  if (int rc = mailimap_uid_copy(s_.get(), set.get(), folder.c_str()); rc != MAILIMAP_NO_ERROR)
    return failed("UID COPY", rc);
  mailimap_flag_list* flags = mailimap_flag_list_new_empty();
  mailimap_flag_list_add(flags, mailimap_flag_new_deleted());
  std::unique_ptr<mailimap_store_att_flags, StoreFlagsFree> store(
      mailimap_store_att_flags_new_add_flags_silent(flags));
  if (int rc = mailimap_uid_store(s_.get(), set.get(), store.get()); rc != MAILIMAP_NO_ERROR)
    return failed("UID STORE", rc);
  // UID EXPUNGE removes only this message. Without it the original stays,
  // flagged \Deleted, until staff's client expunges: a plain EXPUNGE would
  // also take away mail staff flagged but wanted to keep for now.
  if (!mailimap_has_uidplus(s_.get())) return MoveResult::Flagged;
  if (int rc = mailimap_uid_expunge(s_.get(), set.get()); rc != MAILIMAP_NO_ERROR)
    return failed("UID EXPUNGE", rc);
  return MoveResult::Moved;
}

}  // namespace sealpost::imap
