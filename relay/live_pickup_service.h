// The PickupService the sealing step holds for the daemon's whole life, so
// that `portal:` can be added, changed or removed by SIGHUP: it forwards to
// the pickup store with the current public URL, or refuses (temporary) while
// no portal is configured. Deposits made earlier can always be withdrawn.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "portal/pickup_service.h"
#include "portal/pickup_store.h"

namespace sealpost {

class LivePickupService final : public PickupService {
 public:
  // `store` must outlive this; null: no pickup store open (yet).
  // `public_url`: none while no portal is configured (deposits refused).
  void configure(pickup::PickupStore* store, std::optional<std::string> public_url);

  Result<PickupDeposit> deposit(const PickupRequest& req, std::string_view mime) override;
  Result<void> withdraw(const std::string& pickup_id) override;

 private:
  std::mutex mu_;
  pickup::PickupStore* store_ = nullptr;
  std::shared_ptr<pickup::StorePickupService> current_;  // null: deposits refused
};

}  // namespace sealpost
