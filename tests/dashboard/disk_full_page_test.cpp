// A full disk on the dashboard, on each engine with a real server: the overview
// and the run page warn with the folder and the jobs waiting for space, the
// JSON API and /metrics carry it, the folder's name is escaped, and the warning
// goes once space is back.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dashboard/dashboard.h"
#include "dashboard/server.h"
#include "http_client.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;
using json = nlohmann::json;

namespace {

struct DashboardDiskFull : StoreTest {};

dashboard::DashboardOptions exact() {
  dashboard::DashboardOptions o;
  o.summary_ttl_ms = 0;  // every request sees the rows as they are
  o.running_counts_ttl_ms = 0;
  return o;
}

}  // namespace

TEST_P(DashboardDiskFull, TheOverviewRunPageApiAndMetricsShowAFullDisk) {
  TempWorkspace tw("", GetParam());
  auto clock = std::make_shared<ManualClock>();
  dashboard::Dashboard dash(tw.ws(), clock, exact(),
                            [](const ScheduleRow&, const std::string&) -> ScheduledSubmit {
                              throw std::runtime_error("no schedules here");
                            });
  dashboard::ServerOptions so;
  so.port = 0;
  dashboard::DashboardServer server(dash, clock, so);
  server.start();
  const int p = server.port();

  auto store = tw.store();
  store->submit_run(simple_run("full", 2));
  const std::string folder = "/srv/<b>assets</b>";
  DiskFullRow seen;
  seen.host = "hostA";
  seen.path = folder;
  seen.error = "disk full at " + folder + ": write: No space left on device";
  seen.free_bytes = 0;
  for (const Lease& l : store->claim({"hostA:1", 1, {"sleep"}, 2, 30'000, "/tmp/logs"}))
    ASSERT_EQ(store->wait_for_space(l.job_id, l.attempt, seen), FenceResult::ok);

  json o = json::parse(http_get(p, "/api/v1/overview").body);
  ASSERT_EQ(o["disk_full"].size(), 1u) << o.dump();
  EXPECT_EQ(o["disk_full"][0]["path"], folder);
  EXPECT_EQ(o["disk_full"][0]["host"], "hostA");
  EXPECT_EQ(o["waiting_for_space"], 2);
  json run = json::parse(http_get(p, "/api/v1/runs/r1").body);
  EXPECT_EQ(run["waiting_for_space"], 2);
  EXPECT_EQ(run["jobs"]["ready"], 2);

  for (const char* page : {"/", "/runs/r1"}) {
    const std::string html = http_get(p, page).body;
    EXPECT_NE(html.find("<b>Disk full</b>: <code>/srv/&lt;b&gt;assets&lt;/b&gt;</code> on hostA"),
              std::string::npos)
        << page << "\n"
        << html;
    EXPECT_NE(html.find("2 job(s)"), std::string::npos) << page;
    EXPECT_EQ(html.find("<b>assets</b>"), std::string::npos) << page;
  }
  const std::string metrics = http_get(p, "/metrics").body;
  EXPECT_NE(metrics.find("atelier_disk_full{host=\"hostA\",path=\"/srv/<b>assets</b>\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("atelier_jobs_waiting_for_space 2"), std::string::npos);

  ASSERT_EQ(store->space_returned("hostA", folder), 2);
  EXPECT_TRUE(json::parse(http_get(p, "/api/v1/overview").body)["disk_full"].empty());
  EXPECT_EQ(http_get(p, "/").body.find("Disk full"), std::string::npos);
  EXPECT_NE(http_get(p, "/metrics").body.find("atelier_jobs_waiting_for_space 0"),
            std::string::npos);
  server.stop();
}

INSTANTIATE_STORE_SUITE(DashboardDiskFull);
