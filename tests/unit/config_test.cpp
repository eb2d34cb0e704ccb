#include <gtest/gtest.h>

#include <fstream>

#include "orchestrator/config.h"
#include "common/errors.h"
#include "support/test_workspace.h"

using namespace atelier;

namespace {
std::filesystem::path write(const std::string& text) {
  auto p = std::filesystem::temp_directory_path() / ("cfg-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(p) << text;
  return p;
}
}  // namespace

TEST(Config, DefaultsAndOverrides) {
  auto p = write(
      "lease_ms: 500\npools: {sleep: 3}\nlimits: {sleep: 1}\nretry: {base_ms: 10}\ncpu_slots: 4\n");
  WorkspaceConfig c = load_config(p);
  EXPECT_EQ(c.lease_ms, 500);
  EXPECT_EQ(c.effective_heartbeat_ms(), 166);
  EXPECT_EQ(c.pools.at("sleep"), 3);
  EXPECT_EQ(c.limits.at("sleep"), 1);
  EXPECT_EQ(c.retry.base_ms, 10);
  EXPECT_EQ(c.retry.max_ms, 300'000);
  EXPECT_EQ(c.effective_cpu_slots(), 4);
  EXPECT_EQ(load_config(write("")).lease_ms, 30'000);
}

TEST(Config, TheDefaultFileParses) {
  WorkspaceConfig c = load_config(write(default_config_text()));
  EXPECT_EQ(c.store, "sqlite:atelier.db");
  EXPECT_EQ(c.claim_batch, 128);
}

TEST(Config, UnknownKeysAndBadTypesNameTheLine) {
  try {
    load_config(write("lease_ms: 100\nleese_ms: 5\n"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(":2:1: unknown key 'leese_ms'"), std::string::npos)
        << e.what();
  }
  try {
    load_config(write("lease_ms: soon\n"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(":1:11: 'lease_ms' must be a number"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(load_config(write("pools: [1, 2]\n")), InputError);
  EXPECT_THROW(load_config(write("lease_ms: [\n")), InputError);
}

TEST(Config, DiskFullWaitAndProbe) {
  WorkspaceConfig d = load_config(write(default_config_text()));
  EXPECT_EQ(d.retry.disk_full_ms, 5000);
  EXPECT_EQ(d.disk_probe_ms, 1000);
  WorkspaceConfig c = load_config(write("disk_full: {retry_ms: 20, probe_ms: 30}\n"));
  EXPECT_EQ(c.retry.disk_full_ms, 20);
  EXPECT_EQ(c.disk_probe_ms, 30);
  EXPECT_EQ(c.retry.base_ms, 1000);  // the ordinary retry is its own
  EXPECT_THROW(load_config(write("disk_full: {retry_ms: 0}\n")), InputError);
  EXPECT_THROW(load_config(write("disk_full: {wait_ms: 10}\n")), InputError);
}
