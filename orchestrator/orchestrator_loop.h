// One orchestrating process (`atelier run`, later `atelier serve`): the
// supervisor, the lease rescuer and the cleaner on one tick. Idempotent with
// other orchestrators on the same workspace: rescue and cleanup are fenced.
#pragma once
#include <map>
#include <memory>
#include <set>
#include <string>

#include "cleaner.h"
#include "lease_rescuer.h"
#include "supervisor.h"
#include "workspace.h"

namespace atelier {

struct OrchestratorOptions {
  std::string exe;     // the atelier binary that runs `worker`
  std::string ml_exe;  // atelier-ml, for the kinds in ml_kinds
  std::set<std::string> ml_kinds;
  std::map<std::string, int> pools;    // overrides the config's pools
  std::map<std::string, int> threads;  // kind -> threads per worker (from the kind catalog)
  int64_t cleaner_interval_ms = 3'600'000;
};

class OrchestratorLoop {
 public:
  OrchestratorLoop(const Workspace& ws, std::shared_ptr<Clock> clock, OrchestratorOptions opts);
  void tick();
  void begin_drain() { supervisor_->begin_drain(); }
  bool drained() const { return supervisor_->draining() && supervisor_->idle(); }
  Store& store() { return *store_; }
  Supervisor& supervisor() { return *supervisor_; }

 private:
  const Workspace& ws_;
  std::shared_ptr<Clock> clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Supervisor> supervisor_;
  LeaseRescuer rescuer_;
  Cleaner cleaner_;
  int64_t cleaner_interval_ms_;
  int64_t next_clean_at_ = 0;
};

}  // namespace atelier
