#include "relay/live_pickup_service.h"

namespace sealpost {

void LivePickupService::configure(pickup::PickupStore* store,
                                  std::optional<std::string> public_url) {
  std::shared_ptr<pickup::StorePickupService> next;
  if (store != nullptr && public_url)
    next = std::make_shared<pickup::StorePickupService>(*store, std::move(*public_url));
  std::lock_guard lock(mu_);
  store_ = store;
  current_ = std::move(next);
}

Result<PickupDeposit> LivePickupService::deposit(const PickupRequest& req, std::string_view mime) {
  std::shared_ptr<pickup::StorePickupService> service;
  {
    std::lock_guard lock(mu_);
    service = current_;
  }
  if (!service)
    return Error::temp("4.7.0", "recipient cannot be reached securely yet",
                       "pickup portal not configured");
  return service->deposit(req, mime);
}

Result<void> LivePickupService::withdraw(const std::string& pickup_id) {
  pickup::PickupStore* store = nullptr;
  {
    std::lock_guard lock(mu_);
    store = store_;
  }
  if (store == nullptr) return Error::plain("no pickup store open");
  // The URL plays no part in withdrawing.
  return pickup::StorePickupService(*store, "").withdraw(pickup_id);
}

}  // namespace sealpost
