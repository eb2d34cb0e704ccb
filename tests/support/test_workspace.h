// Test fixtures: a fresh workspace in a temp folder with short configured
// durations, spec files written on the fly, and bounded waits on database
// state (a bound only turns a hang into a failure; nothing asserts on time).
#pragma once
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "orchestrator/clock.h"
#include "orchestrator/store.h"
#include "orchestrator/workspace.h"

namespace atelier::test {

class TempWorkspace {
 public:
  // `extra_config` is appended to atelier.yaml (YAML, overriding the defaults).
  explicit TempWorkspace(const std::string& extra_config = "");
  ~TempWorkspace();

  const std::filesystem::path& dir() const { return dir_; }
  Workspace& ws() { return *ws_; }
  std::unique_ptr<Store> store(std::shared_ptr<Clock> clock = system_clock()) const;
  std::filesystem::path write_file(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Workspace> ws_;
};

// Short durations for process tests: 1 s leases, quick retries and restarts.
std::string fast_config(int cpu_slots = 8);

// Polls `done` every 20 ms until true or `limit_ms` passes; returns its last value.
bool wait_until(const std::function<bool()>& done, int64_t limit_ms = 60'000);

// Builds a one-run NewRun directly (store-level tests).
NewRun simple_run(const std::string& name, int jobs, const std::string& kind = "sleep",
                  std::optional<std::string> key = std::nullopt);

}  // namespace atelier::test
