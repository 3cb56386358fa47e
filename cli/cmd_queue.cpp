// sealpost queue list | show ID | flush | release ID | delete ID
//
// Works on the live spool next to a running sealpostd: envelope changes go
// through FileSpool's per-message lock. `flush` resets next_attempt of every
// pending recipient and then sends SIGUSR1 to the pid in <state_dir>/sealpostd.pid,
// which makes the daemon call DeliveryScheduler::flush(). `release` turns the
// held recipients of one message (policy hold, unprocessable MIME) back into
// pending ones and notifies the daemon the same way. Message bodies are never
// printed.
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli/admin_audit.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "common/durable_file.h"
#include "config/config.h"
#include "relay/spool/file_spool.h"

namespace sealpost::cli {
namespace {

const char* status_name(RcptStatus s) {
  switch (s) {
    case RcptStatus::Pending:
      return "pending";
    case RcptStatus::Delivered:
      return "delivered";
    case RcptStatus::Failed:
      return "failed";
    case RcptStatus::Held:
      return "held";
  }
  return "unknown";
}

// next_attempt 0 means "as soon as a worker is free".
std::string due_time(std::int64_t t) {
  return t <= 0 ? "now" : iso_time(t);
}

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
  return out;
}

struct Counts {
  int pending = 0, delivered = 0, failed = 0, held = 0;
  std::int64_t next = 0;  // earliest next_attempt of a pending recipient
};

Counts count(const SpoolEnvelope& env) {
  Counts c;
  for (const auto& r : env.rcpts) {
    if (r.status == RcptStatus::Pending) {
      ++c.pending;
      if (c.pending == 1 || r.next_attempt < c.next) c.next = r.next_attempt;
    } else if (r.status == RcptStatus::Delivered) {
      ++c.delivered;
    } else if (r.status == RcptStatus::Held) {
      ++c.held;
    } else {
      ++c.failed;
    }
  }
  return c;
}

int list(spool::FileSpool& spool, bool json) {
  const auto ids = spool.list();
  if (json) std::printf("{\"messages\": [");
  bool first = true;
  for (const auto& id : ids) {
    auto env = spool.load_envelope(id);
    if (!env) continue;  // delivered and removed since the scan
    const Counts c = count(*env);
    if (json) {
      std::printf(
          "%s\n  {\"id\": %s, \"arrival\": %lld, \"size\": %llu, \"from\": %s, \"kind\": %s, "
          "\"pending\": %d, \"delivered\": %d, \"failed\": %d, \"held\": %d, \"next_attempt\": "
          "%lld, "
          "\"recipients\": [",
          first ? "" : ",", json_string(id).c_str(), static_cast<long long>(env->arrival),
          static_cast<unsigned long long>(env->size), json_string(env->mail_from).c_str(),
          json_string(env->kind).c_str(), c.pending, c.delivered, c.failed, c.held,
          static_cast<long long>(c.next));
      for (std::size_t i = 0; i < env->rcpts.size(); ++i) {
        const auto& r = env->rcpts[i];
        std::printf("%s{\"address\": %s, \"status\": \"%s\", \"last_reply\": %s}", i ? ", " : "",
                    json_string(r.address).c_str(), status_name(r.status),
                    json_string(r.last_reply).c_str());
      }
      std::printf("]}");
    } else {
      std::printf("%s  %s  %8llu  <%s>%s  pending=%d delivered=%d failed=%d held=%d  next=%s\n",
                  id.c_str(), iso_time(env->arrival).c_str(),
                  static_cast<unsigned long long>(env->size), printable(env->mail_from).c_str(),
                  env->kind.empty() ? "" : (" [" + printable(env->kind) + "]").c_str(), c.pending,
                  c.delivered, c.failed, c.held, c.pending ? due_time(c.next).c_str() : "-");
      // Like mailq: the recipients still waiting, with why they wait.
      for (const auto& r : env->rcpts) {
        if (r.status != RcptStatus::Pending && r.status != RcptStatus::Held) continue;
        std::printf("    <%s>%s%s%s\n", printable(r.address).c_str(),
                    r.status == RcptStatus::Held ? "  HELD" : "", r.last_reply.empty() ? "" : "  ",
                    printable(r.last_reply).c_str());
      }
    }
    first = false;
  }
  if (json)
    std::printf("%s]}\n", first ? "" : "\n");
  else if (ids.empty())
    std::puts("queue is empty");
  return kOk;
}

int show(spool::FileSpool& spool, const std::string& id, bool json) {
  auto env = spool.load_envelope(id);
  if (!env) return fail("no such message " + printable(id) + " (" + env.error().what() + ")");
  const auto& e = *env;
  if (json) {
    std::printf(
        "{\"id\": %s, \"from\": %s, \"kind\": %s, \"arrival\": %lld, \"size\": %llu, "
        "\"auth_user\": %s, \"client_addr\": %s, \"helo\": %s, \"listener\": %s, \"ret\": %s, "
        "\"envid\": %s, \"body\": %s, \"smtputf8\": %s, \"recipients\": [",
        json_string(e.id).c_str(), json_string(e.mail_from).c_str(), json_string(e.kind).c_str(),
        static_cast<long long>(e.arrival), static_cast<unsigned long long>(e.size),
        json_string(e.auth_user).c_str(), json_string(e.client_addr).c_str(),
        json_string(e.helo).c_str(), json_string(e.listener).c_str(), json_string(e.ret).c_str(),
        json_string(e.envid).c_str(), json_string(e.body).c_str(), e.smtputf8 ? "true" : "false");
    for (std::size_t i = 0; i < e.rcpts.size(); ++i) {
      const auto& r = e.rcpts[i];
      std::printf(
          "%s\n  {\"address\": %s, \"status\": \"%s\", \"attempts\": %u, \"next_attempt\": %lld, "
          "\"method\": %s, \"last_reply\": %s, \"notify\": %s, \"orcpt\": %s}",
          i ? "," : "", json_string(r.address).c_str(), status_name(r.status), r.attempts,
          static_cast<long long>(r.next_attempt), json_string(r.method).c_str(),
          json_string(r.last_reply).c_str(), json_string(r.notify).c_str(),
          json_string(r.orcpt).c_str());
    }
    std::printf("%s]}\n", e.rcpts.empty() ? "" : "\n");
    return kOk;
  }
  std::printf("id:          %s\n", e.id.c_str());
  std::printf("from:        <%s>%s\n", printable(e.mail_from).c_str(),
              e.kind == "dsn" ? "  (delivery status notification)" : "");
  std::printf("arrival:     %s\n", iso_time(e.arrival).c_str());
  std::printf("size:        %llu bytes\n", static_cast<unsigned long long>(e.size));
  std::printf("auth user:   %s\n", printable(e.auth_user).c_str());
  std::printf("client:      %s (helo %s) via %s\n", printable(e.client_addr).c_str(),
              printable(e.helo).c_str(), printable(e.listener).c_str());
  std::printf("recipients:\n");
  for (const auto& r : e.rcpts) {
    std::printf("  <%s>  %s  attempts=%u", printable(r.address).c_str(), status_name(r.status),
                r.attempts);
    if (r.status == RcptStatus::Pending) std::printf("  next=%s", due_time(r.next_attempt).c_str());
    if (!r.method.empty()) std::printf("  method=%s", printable(r.method).c_str());
    if (!r.last_reply.empty()) std::printf("  last=\"%s\"", printable(r.last_reply).c_str());
    std::printf("\n");
  }
  return kOk;
}

// Sends SIGUSR1 to sealpostd if its pid file names a live sealpostd process
// (checked via /proc so a stale pid never signals an unrelated process).
// Returns a one-line description of what happened.
Result<std::string> notify_daemon(const std::filesystem::path& state_dir) {
  const auto pid_file = state_dir / "sealpostd.pid";
  auto text = read_file(pid_file, 64);
  if (!text) return std::string("sealpostd is not running (no ") + pid_file.string() + ")";
  char* end = nullptr;
  const long pid = std::strtol(text->c_str(), &end, 10);
  if (pid <= 0 || end == text->c_str())
    return Error::plain("malformed pid file " + pid_file.string());
  // /proc files report size 0, so read_file() cannot be used here.
  std::ifstream comm_file("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  std::getline(comm_file, comm);
  if (comm != "sealpostd") return std::string("sealpostd is not running (stale pid file)");
  if (::kill(static_cast<pid_t>(pid), SIGUSR1) != 0)
    return Error::plain("cannot signal sealpostd (pid " + std::to_string(pid) +
                        "): " + std::strerror(errno));
  return "sealpostd (pid " + std::to_string(pid) + ") notified";
}

int flush(spool::FileSpool& spool, const std::filesystem::path& state_dir) {
  int changed = 0;
  for (const auto& id : spool.list()) {
    auto r = spool.modify(id, [](SpoolEnvelope& env) {
      bool any = false;
      for (auto& rcpt : env.rcpts)
        if (rcpt.status == RcptStatus::Pending && rcpt.next_attempt != 0) {
          rcpt.next_attempt = 0;
          any = true;
        }
      return any;
    });
    if (r) ++changed;
  }
  auto notified = notify_daemon(state_dir);
  if (!notified) return fail(notified.error().what());
  std::printf("%d message(s) due for immediate retry; %s\n", changed, notified->c_str());
  return kOk;
}

int release(spool::FileSpool& spool, const std::string& id, const std::filesystem::path& state_dir,
            const std::string& config_path) {
  if (!spool::valid_queue_id(id)) return fail("invalid queue id " + printable(id));
  int released = 0;
  auto r = spool.modify(id, [&](SpoolEnvelope& env) {
    for (auto& rcpt : env.rcpts)
      if (rcpt.status == RcptStatus::Held) {
        rcpt.status = RcptStatus::Pending;
        rcpt.next_attempt = 0;
        ++released;
      }
    return released > 0;
  });
  if (!r) return fail("no such message " + printable(id) + " (" + r.error().what() + ")");
  if (released == 0) return fail("message " + id + " has no held recipients");
  const int audited = finish_with_audit(
      config_path, "queue.released", {{"queue_id", id}, {"recipients", std::to_string(released)}});
  auto notified = notify_daemon(state_dir);
  if (!notified) return fail(notified.error().what());
  std::printf("released %d recipient(s) of %s; %s\n", released, id.c_str(), notified->c_str());
  return audited;
}

int remove(spool::FileSpool& spool, const std::string& id, const std::string& config_path) {
  if (!spool::valid_queue_id(id)) return fail("invalid queue id " + printable(id));
  if (auto r = spool.remove(id); !r) return fail(r.error().what());
  std::printf("deleted %s\n", id.c_str());
  return finish_with_audit(config_path, "queue.deleted", {{"queue_id", id}});
}

}  // namespace

int cmd_queue(const Context& ctx) {
  if (ctx.args.empty())
    return usage_error("queue needs one of: list, show ID, flush, release ID, delete ID");
  const std::string& verb = ctx.args[0];
  const std::size_t want = (verb == "show" || verb == "delete" || verb == "release") ? 2 : 1;
  if (verb != "list" && verb != "show" && verb != "flush" && verb != "delete" && verb != "release")
    return usage_error("unknown queue command '" + printable(verb) + "'");
  if (ctx.args.size() != want)
    return usage_error("usage: queue list | show ID | flush | release ID | delete ID");

  auto config = load_config(ctx.config_path);
  if (!config) return fail(config.error().what());
  auto spool = spool::FileSpool::open(config->state_dir, config->queue, spool::KeyUser::Cli);
  if (!spool) return fail(spool.error().what());

  if (verb == "list") return list(**spool, ctx.json);
  if (verb == "show") return show(**spool, ctx.args[1], ctx.json);
  if (verb == "flush") return flush(**spool, config->state_dir);
  if (verb == "release") return release(**spool, ctx.args[1], config->state_dir, ctx.config_path);
  return remove(**spool, ctx.args[1], ctx.config_path);
}

}  // namespace sealpost::cli
