#include "test_workspace.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

namespace atelier::test {
namespace fs = std::filesystem;

TempWorkspace::TempWorkspace(const std::string& extra_config) {
  std::random_device rd;
  dir_ = fs::temp_directory_path() /
         ("atelier-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(dir_);
  if (!extra_config.empty()) {
    std::ofstream(dir_ / "atelier.yaml") << extra_config << "\n";
  }
  ws_ = std::make_unique<Workspace>(Workspace::init(dir_));
}

TempWorkspace::~TempWorkspace() {
  if (!::testing::Test::HasFailure() || std::getenv("ATELIER_TEST_CLEAN")) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  } else {
    std::cerr << "kept failing test workspace: " << dir_ << "\n";
  }
}

std::unique_ptr<Store> TempWorkspace::store(std::shared_ptr<Clock> clock) const {
  return ws_->open_store(clock);
}

fs::path TempWorkspace::write_file(const std::string& name, const std::string& text) const {
  fs::path p = dir_ / name;
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
  return p;
}

std::string fast_config(int cpu_slots) {
  return "lease_ms: 1000\n"
         "cancel_grace_ms: 300\n"
         "drain_grace_ms: 2000\n"
         "supervisor_tick_ms: 20\n"
         "retry: {base_ms: 20, max_ms: 200, jitter: 0.2}\n"
         "restart_backoff: {base_ms: 10, max_ms: 200}\n"
         "max_attempts: 5\n"
         "cpu_slots: " +
         std::to_string(cpu_slots) + "\n";
}

bool wait_until(const std::function<bool()>& done, int64_t limit_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

NewRun simple_run(const std::string& name, int jobs, const std::string& kind,
                  std::optional<std::string> key) {
  NewRun r;
  r.name = name;
  r.spec_path = name + ".yaml";
  r.spec_text = "spec of " + name;
  r.spec_sha256 = "sha-" + name;
  r.submitter = "tester";
  r.idem_key = std::move(key);
  for (int i = 0; i < jobs; ++i) {
    NewJob j;
    j.stage = "s";
    j.kind = kind;
    j.params = std::make_shared<const json>(json{{"i", i}});
    r.jobs.push_back(j);
  }
  return r;
}

}  // namespace atelier::test
