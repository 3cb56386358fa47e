// sealpost pickup list [--json] | revoke ID | purge
// Works on <state_dir>/pickup/ through the same PickupStore the portal uses.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include "cli/admin_audit.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "common/result.h"
#include "config/config.h"
#include "portal/pickup_store.h"

namespace sealpost::cli {
namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int list(pickup::PickupStore& store, bool json) {
  auto rows = store.index().list();
  if (!rows) return fail(rows.error().what());
  if (json) {
    std::printf("{\"pickups\": [");
    bool first = true;
    for (const auto& r : *rows) {
      std::printf(
          "%s\n  {\"id\": %s, \"recipient\": %s, \"sender\": %s, \"created\": %s, "
          "\"expires\": %s, \"auth\": %s, \"attempts\": %d, \"state\": %s, \"picked_up\": %s}",
          first ? "" : ",", json_string(r.id).c_str(), json_string(r.recipient).c_str(),
          json_string(r.sender).c_str(), json_string(iso_time(r.created)).c_str(),
          json_string(iso_time(r.expires)).c_str(), json_string(r.auth_method).c_str(), r.attempts,
          json_string(pickup::to_string(r.state)).c_str(),
          r.picked_up ? json_string(iso_time(r.picked_up)).c_str() : "null");
      first = false;
    }
    std::printf("\n]}\n");
    return kOk;
  }
  std::printf("%-26s  %-8s  %-20s  %-20s  %-14s  %s\n", "ID", "STATE", "CREATED", "EXPIRES", "AUTH",
              "RECIPIENT");
  for (const auto& r : *rows)
    std::printf("%-26s  %-8s  %-20s  %-20s  %-14s  %s\n", r.id.c_str(), pickup::to_string(r.state),
                iso_time(r.created).c_str(), iso_time(r.expires).c_str(), r.auth_method.c_str(),
                r.recipient.c_str());
  return kOk;
}

// Root may work on a store that belongs to the service users (SQLite gives
// the -wal/-shm files it creates the database's owner), but must not create
// anything in it: a missing blobs/ would come out root's and 0700.
Result<void> check_store_owner(const std::filesystem::path& dir) {
  if (::geteuid() != 0) return {};
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || st.st_uid == 0) return {};
  if (::stat((dir / "blobs").c_str(), &st) == 0) return {};
  return Error::plain(dir.string() + "/blobs is missing and root would create it root-owned; run " +
                      "this as the owner of " + dir.string() +
                      " (e.g. sudo -u sealpost sealpost pickup ...)");
}

}  // namespace

int cmd_pickup(const Context& ctx) {
  if (ctx.args.empty()) return usage_error("pickup needs list | revoke ID | purge");
  const std::string& verb = ctx.args[0];
  if (!((verb == "list" && ctx.args.size() == 1) || (verb == "purge" && ctx.args.size() == 1) ||
        (verb == "revoke" && ctx.args.size() == 2)))
    return usage_error("pickup needs list | revoke ID | purge");
  auto config = load_config(ctx.config_path);
  if (!config) return fail(config.error().what());
  const std::filesystem::path dir = std::filesystem::path(config->state_dir) / "pickup";
  // Listing, revoking or purging never creates the store: a pickup/ made
  // here (by root in particular) would belong to the wrong user and lock
  // sealpostd and sealpost-portal out. No store yet means no pickups.
  std::error_code ec;
  if (!std::filesystem::exists(dir / "index.db", ec)) {
    if (verb == "revoke") return fail("no such pickup: " + ctx.args[1] + " (no pickup store yet)");
    if (verb == "list" && ctx.json) {
      std::printf("{\"pickups\": [\n]}\n");
      return kOk;
    }
    if (verb == "list") (void)std::fprintf(stderr, "no pickup store at %s yet\n", dir.c_str());
    if (verb == "purge") std::printf("purged 0 expired pickup(s)\n");
    return kOk;
  }
  if (auto owned = check_store_owner(dir); !owned) return fail(owned.error().what());
  auto store = pickup::PickupStore::open(dir);
  if (!store) return fail(store.error().what());
  if (verb == "list") return list(**store, ctx.json);
  if (verb == "revoke") {
    if (auto r = (*store)->revoke(ctx.args[1]); !r) return fail(r.error().what());
    std::printf("revoked %s (blob and key material deleted)\n", ctx.args[1].c_str());
    return finish_with_audit(ctx.config_path, "pickup.revoked", {{"pickup_id", ctx.args[1]}});
  }
  auto n = (*store)->purge_expired(unix_now());
  if (!n) return fail(n.error().what());
  std::printf("purged %d expired pickup(s)\n", *n);
  const auto retention =
      config->portal ? config->portal->index_retention : PortalConfig{}.index_retention;
  auto old = (*store)->forget_old(unix_now(), retention);
  if (!old) return fail(old.error().what());
  if (*old > 0) std::printf("deleted %d index row(s) past portal.index_retention\n", *old);
  if (*n == 0) return kOk;
  return finish_with_audit(ctx.config_path, "pickup.purged", {{"count", std::to_string(*n)}});
}

}  // namespace sealpost::cli
