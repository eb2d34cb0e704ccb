// The dashboard's API and pages against a real HTTP server on a loopback port,
// over a workspace with a finished run made by the real `atelier run`: reads,
// actions with and without tokens, logins with CSRF, and the attacks a
// dashboard must shrug off (path traversal, script in a prompt, SQL in a
// filter, huge bodies, request floods). Time (sessions, rate limits) is an
// injected clock.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "dashboard/http_util.h"
#include "dashboard/server.h"
#include "http_client.h"
#include "kinds/catalog.h"
#include "orchestrator/tokens.h"
#include "pipelines/imports.h"
#include "pipelines/prepare_run.h"
#include "support/process.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;
using json = nlohmann::json;

namespace {

const char* kSpec = R"(version: 1
name: spring-<script>alert(1)</script>
params:
  prompt: "a red <script>alert('x')</script> apple"
stages:
  - id: make
    kind: sleep
    matrix: {n: [1, 2, 3]}
    with: {ms: 1, output: true, label: "${params.prompt}"}
)";

// Figures computed on every request (no background refresher, no reuse), so
// every assertion sees the rows as they are.
dashboard::DashboardOptions exact() {
  dashboard::DashboardOptions o;
  o.summary_ttl_ms = 0;
  o.running_counts_ttl_ms = 0;
  return o;
}

class Served {
 public:
  explicit Served(sql::Engine engine = sql::Engine::sqlite, dashboard::ServerOptions so = {},
                  dashboard::DashboardOptions dopts = exact())
      : tw("", engine),
        clock_(std::make_shared<ManualClock>()),
        dash_(tw.ws(), clock_, dopts,
              [this](const ScheduleRow& s, const std::string& key) {
                auto store = tw.store();
                NewRun run = prepare_run(tw.ws(), {s.spec_path, {}, key, "schedule:" + s.name},
                                         nullptr, store.get());
                const SubmitResult r = store->submit_run(run);
                return ScheduledSubmit{r.run_id, r.existing};
              }),
        server_(dash_, clock_, [&] {
          so.port = 0;
          return so;
        }()) {
    server_.start();
  }
  int port() const { return server_.port(); }
  ManualClock& clock() { return *clock_; }
  TempWorkspace tw;

 private:
  std::shared_ptr<ManualClock> clock_;
  dashboard::Dashboard dash_;
  dashboard::DashboardServer server_;
};

// A finished run with three text outputs, made by the real binary.
void run_pipeline(TempWorkspace& tw) {
  const auto spec = tw.write_file("spec.yaml", kSpec);
  ProcResult r =
      run_atelier({"-w", tw.dir().string(), "run", spec.string(), "--workers", "sleep=1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
}

std::map<std::string, std::string> bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

HttpResult post(int port, const std::string& path, const std::string& body,
                const std::map<std::string, std::string>& headers = {},
                const std::string& type = "application/json") {
  return http(port, {"POST", path, body, type, headers});
}

}  // namespace

// Every read and action on both stores (the pages' SQL runs on each engine).
struct DashboardApi : StoreTest {};

TEST_P(DashboardApi, ReadsRunsJobsAssetsAndPages) {
  Served s(GetParam());
  run_pipeline(s.tw);
  const int p = s.port();

  HttpResult r = http_get(p, "/api/v1/runs");
  ASSERT_EQ(r.status, 200) << r.body;
  json runs = json::parse(r.body);
  ASSERT_EQ(runs["runs"].size(), 1u);
  EXPECT_EQ(runs["runs"][0]["state"], "succeeded");
  EXPECT_EQ(runs["runs"][0]["jobs"]["succeeded"], 3);

  r = http_get(p, "/api/v1/runs/r1");
  ASSERT_EQ(r.status, 200);
  json run = json::parse(r.body);
  EXPECT_EQ(run["stages"]["make"]["succeeded"], 3);
  EXPECT_EQ(run["stage_kinds"]["make"], "sleep");

  r = http_get(p, "/api/v1/jobs?run=r1&limit=2");
  json jobs = json::parse(r.body);
  ASSERT_EQ(jobs["jobs"].size(), 2u);
  EXPECT_EQ(jobs["jobs"][0]["job"], "j3") << "newest first";
  const int64_t next = jobs["next_before"];
  jobs =
      json::parse(http_get(p, "/api/v1/jobs?run=r1&limit=2&before=" + std::to_string(next)).body);
  ASSERT_EQ(jobs["jobs"].size(), 1u);
  EXPECT_EQ(jobs["jobs"][0]["job"], "j1");

  r = http_get(p, "/api/v1/jobs/j2");
  json job = json::parse(r.body);
  EXPECT_EQ(job["attempts"].size(), 1u);
  EXPECT_FALSE(job["log_tail"].get<std::string>().empty());
  ASSERT_EQ(job["outputs"].size(), 1u);
  const std::string sha = job["outputs"][0]["sha256"];

  r = http_get(p, "/assets/" + sha);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain");
  EXPECT_NE(r.body.find("j2"), std::string::npos);
  EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
  r = http_get(p, "/api/v1/assets/" + sha);
  EXPECT_EQ(json::parse(r.body)["lineage"]["id"], sha);
  EXPECT_EQ(http_get(p, "/assets/" + std::string(64, 'a')).status, 404);

  for (const char* page : {"/", "/runs", "/runs/r1", "/jobs", "/jobs/j2", "/schedules", "/audit"}) {
    r = http_get(p, page);
    EXPECT_EQ(r.status, 200) << page;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8") << page;
    EXPECT_NE(r.header("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  }
  EXPECT_EQ(http_get(p, "/asset/" + sha).status, 200);
  EXPECT_EQ(http_get(p, "/static/app.js").content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(http_get(p, "/runs/r99").status, 404);
  EXPECT_EQ(http_get(p, "/api/v1/jobs/j99").status, 404);
  EXPECT_EQ(http_get(p, "/api/v1/runs/rx").status, 404);
  EXPECT_EQ(http(p, {"DELETE", "/api/v1/runs", "", "", {}}).status, 405);

  r = http_get(p, "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("atelier_jobs{kind=\"sleep\",state=\"succeeded\"} 3"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("atelier_job_duration_seconds_count{kind=\"sleep\"} 3"), std::string::npos);
  EXPECT_NE(r.body.find("# TYPE atelier_queue_depth gauge"), std::string::npos);

  // A finished run's live stream sends its state and ends.
  r = http_get(p, "/api/v1/stream?run=r1");
  EXPECT_EQ(r.content_type, "text/event-stream");
  EXPECT_NE(r.body.find("event: run\ndata: "), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"state\":\"succeeded\""), std::string::npos);
  EXPECT_NE(r.body.find("event: end"), std::string::npos);
}

TEST_P(DashboardApi, KindsListsEveryDeclaredKindWithItsParameters) {
  Served s(GetParam());
  const HttpResult r = http_get(s.port(), "/api/v1/kinds");
  ASSERT_EQ(r.status, 200) << r.body;
  const json kinds = json::parse(r.body)["kinds"];
  ASSERT_EQ(kinds.size(), kind_catalog().size());
  for (size_t i = 0; i < kinds.size(); ++i) {
    EXPECT_EQ(kinds[i]["name"], kind_catalog()[i].name);
    EXPECT_EQ(kinds[i]["params"].size(), kind_catalog()[i].params.size());
  }
}

TEST_P(DashboardApi, AnAssetFileIsServedOnlyWhileItIsARegularFileWithItsHash) {
  Served s(GetParam());
  run_pipeline(s.tw);
  const int p = s.port();
  auto store = s.tw.store();
  std::vector<std::string> shas;
  std::map<std::string, std::string> ext;
  for (const AssetRow& a : store->list_assets(1)) {
    shas.push_back(a.sha256);
    ext[a.sha256] = a.ext;
  }
  ASSERT_GE(shas.size(), 3u);
  const AssetStore files = Workspace::open(s.tw.dir()).asset_store();
  auto file_of = [&](const std::string& sha) { return files.path_for(sha, ext[sha]); };
  for (const auto& sha : shas) ASSERT_EQ(http_get(p, "/assets/" + sha).status, 200) << sha;
  // Bytes changed in place (a later time, so the check cannot be skipped).
  {
    std::ofstream(file_of(shas[0]), std::ios::app) << "tampered";
    std::filesystem::last_write_time(
        file_of(shas[0]), std::filesystem::file_time_type::clock::now() + std::chrono::seconds(5));
  }
  EXPECT_EQ(http_get(p, "/assets/" + shas[0]).status, 404);
  // A link planted where an asset's file was, even to the right bytes.
  const auto copy = s.tw.dir() / "copy.txt";
  std::filesystem::copy_file(file_of(shas[1]), copy);
  std::filesystem::remove(file_of(shas[1]));
  std::filesystem::create_symlink(copy, file_of(shas[1]));
  EXPECT_EQ(http_get(p, "/assets/" + shas[1]).status, 404);
  EXPECT_EQ(http_get(p, "/assets/" + shas[2]).status, 200);
}

TEST_P(DashboardApi, ActionsNeedAnAdminTokenAndAreAudited) {
  Served s(GetParam());
  run_pipeline(s.tw);
  const int p = s.port();
  auto store = s.tw.store();
  const std::string admin = create_token(*store, "admin", "ci", "tester").secret;
  const std::string viewer = create_token(*store, "viewer", "wall", "tester").secret;

  EXPECT_EQ(post(p, "/api/v1/runs/r1/retry", "").status, 401);
  EXPECT_EQ(post(p, "/api/v1/runs/r1/retry", "", bearer(viewer)).status, 403);
  EXPECT_EQ(post(p, "/api/v1/runs/r1/retry", "", bearer("atl_" + std::string(43, 'x'))).status,
            401);
  HttpResult r = post(p, "/api/v1/kinds/sleep/pause", "", bearer(admin));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(store->paused_kinds(), std::vector<std::string>{"sleep"});
  EXPECT_EQ(post(p, "/api/v1/kinds/teleport/pause", "", bearer(admin)).status, 404);

  // Submit a spec's text; the run names the dashboard token as its submitter.
  r = post(p, "/api/v1/runs", json{{"spec", kSpec}, {"key", "from-web"}}.dump(), bearer(admin));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json::parse(r.body)["run"], "r2");
  EXPECT_EQ(store->get_run(2)->submitter, "web:ci");
  EXPECT_EQ(
      post(p, "/api/v1/runs", json{{"spec", kSpec}, {"key", "from-web"}}.dump(), bearer(admin))
          .status,
      200)
      << "the same key returns the same run";
  r = post(p, "/api/v1/runs", json{{"spec", "version: 1\nname: x\nstages: 3\n"}}.dump(),
           bearer(admin));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("stages"), std::string::npos)
      << r.body;
  r = post(p, "/api/v1/runs/r2/cancel", "", bearer(admin));
  EXPECT_EQ(json::parse(r.body)["jobs"], 3);
  EXPECT_EQ(store->get_run(2)->state, "cancelled");
  EXPECT_EQ(post(p, "/api/v1/jobs/j99/retry", "", bearer(admin)).status, 404);

  // Schedules from the API.
  const std::string spec = s.tw.write_file("nightly.yaml", kSpec).string();
  r = post(p, "/api/v1/schedules",
           json{{"name", "nightly"},
                {"spec_path", spec},
                {"cron", "0 2 * * *"},
                {"timezone", "Europe/Paris"}}
               .dump(),
           bearer(admin));
  ASSERT_EQ(r.status, 201) << r.body;
  r = post(p, "/api/v1/schedules",
           json{{"name", "bad"}, {"spec_path", spec}, {"cron", "0 2 * *"}}.dump(), bearer(admin));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("expected 5 fields"), std::string::npos) << r.body;
  EXPECT_EQ(json::parse(http_get(p, "/api/v1/schedules").body)["schedules"][0]["timezone"],
            "Europe/Paris");
  r = post(p, "/api/v1/schedules/nightly/run-now", "", bearer(admin));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["run"], "r3");
  EXPECT_EQ(post(p, "/api/v1/schedules/nightly/delete", "", bearer(viewer)).status, 403);
  EXPECT_EQ(http(p, {"DELETE", "/api/v1/schedules/nightly", "", "", bearer(admin)}).status, 200);
  EXPECT_TRUE(store->list_schedules().empty());

  std::map<std::string, int> by_action;
  for (const EventRow& e : store->recent_events(100))
    if (e.actor == "web:ci") ++by_action[e.action];
  EXPECT_EQ(by_action["pause"], 1);
  EXPECT_EQ(by_action["submit"], 1);
  EXPECT_EQ(by_action["cancel"], 1);
  EXPECT_EQ(by_action["schedule.add"], 1);
  EXPECT_EQ(by_action["schedule.run-now"], 1);
  EXPECT_EQ(by_action["schedule.rm"], 1);
  for (const EventRow& e : store->recent_events(100)) EXPECT_NE(e.actor, "web:wall") << e.action;
}

TEST_P(DashboardApi, BrowserSessionsNeedTheLoginNonceAndCsrfOnEveryForm) {
  Served s(GetParam());
  run_pipeline(s.tw);
  const int p = s.port();
  auto store = s.tw.store();
  const std::string admin = create_token(*store, "admin", "alice", "tester").secret;

  HttpResult login = http_get(p, "/login");
  const std::string set = login.header("Set-Cookie");
  ASSERT_EQ(set.rfind("atelier_login=", 0), 0u) << set;
  const std::string nonce = set.substr(14, set.find(';') - 14);
  // Another site's form cannot know the nonce cookie.
  HttpResult r = post(p, "/login", "token=" + admin + "&login_nonce=guess&next=/runs",
                      {{"Cookie", "atelier_login=" + nonce}}, "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 403);
  r = post(p, "/login", "token=atl_wrong&login_nonce=" + nonce,
           {{"Cookie", "atelier_login=" + nonce}}, "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 401);
  r = post(p, "/login", "token=" + admin + "&login_nonce=" + nonce + "&next=/runs",
           {{"Cookie", "atelier_login=" + nonce}}, "application/x-www-form-urlencoded");
  ASSERT_EQ(r.status, 303) << r.body;
  EXPECT_EQ(r.header("Location"), "/runs");
  bool login_cookie_cleared = false;  // under the Path it was set with
  for (const auto& [k, v] : r.headers)
    login_cookie_cleared =
        login_cookie_cleared || (k == "Set-Cookie" && v.rfind("atelier_login=;", 0) == 0 &&
                                 v.find("Path=/login;") != std::string::npos);
  EXPECT_TRUE(login_cookie_cleared);
  std::string session;
  for (const auto& [k, v] : r.headers)
    if (k == "Set-Cookie" && v.rfind("atelier_session=", 0) == 0)
      session = v.substr(0, v.find(';'));
  ASSERT_FALSE(session.empty());
  for (const auto& [k, v] : r.headers)
    if (k == "Set-Cookie" && v.rfind("atelier_session=", 0) == 0) {
      EXPECT_NE(v.find("HttpOnly"), std::string::npos);
      EXPECT_NE(v.find("SameSite=Strict"), std::string::npos);
    }

  // The page carries the session's CSRF token in its forms.
  HttpResult page = http_get(p, "/runs/r1", {{"Cookie", session}});
  const auto at = page.body.find("name=\"csrf\" value=\"");
  ASSERT_NE(at, std::string::npos) << "an admin's page has action forms";
  const std::string csrf = page.body.substr(at + 19, 43);
  r = post(p, "/api/v1/runs/r1/retry", "back=/runs/r1", {{"Cookie", session}},
           "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 403) << "a form without the CSRF token";
  r = post(p, "/api/v1/runs/r1/retry", "back=/runs/r1&csrf=" + std::string(43, 'A'),
           {{"Cookie", session}}, "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 403) << "a wrong CSRF token";
  r = post(p, "/api/v1/runs/r1/retry", "back=/runs/r1&csrf=" + csrf, {{"Cookie", session}},
           "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 303);
  EXPECT_EQ(r.header("Location"), "/runs/r1");
  r = post(p, "/api/v1/runs/r1/retry", "back=https://evil.example/&csrf=" + csrf,
           {{"Cookie", session}}, "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 200) << "no redirect off the site";

  // The session ends with its lifetime, and with its token.
  s.clock().advance(13LL * 3600 * 1000);
  EXPECT_EQ(post(p, "/api/v1/runs/r1/retry", "csrf=" + csrf, {{"Cookie", session}},
                 "application/x-www-form-urlencoded")
                .status,
            401);
}

TEST_P(DashboardApi, TraversalScriptsSqlAndHugeBodiesAreHarmless) {
  Served s(GetParam());
  run_pipeline(s.tw);
  const int p = s.port();
  for (const char* path :
       {"/assets/../../etc/passwd", "/assets/%2e%2e/%2e%2e/etc/passwd",
        "/assets/..%2f..%2fetc%2fpasswd", "/assets/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/static/..%2f..%2fCMakeLists.txt", "/assets/%00", "/assets/..%5c..%5cetc%5cpasswd",
        "/static/%2e%2e/%2e%2e/etc/passwd", "//etc/passwd",
        "/assets/%252e%252e%252fetc%252fpasswd"}) {
    HttpResult r = http_raw(
        p, std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << path;
  }

  // The spec's name and prompt hold <script>: pages show them as text.
  for (const char* page : {"/runs/r1", "/runs", "/", "/jobs/j1"}) {
    HttpResult r = http_get(p, page);
    EXPECT_EQ(r.body.find("<script>alert"), std::string::npos) << page;
  }
  EXPECT_NE(http_get(p, "/runs/r1").body.find("spring-&lt;script&gt;alert(1)&lt;/script&gt;"),
            std::string::npos);
  EXPECT_NE(http_get(p, "/jobs/j1").body.find("&lt;script&gt;alert(&#39;x&#39;)"),
            std::string::npos);

  // SQL in filters is a value like any other: no error, no rows.
  for (const char* q : {"/api/v1/jobs?state=%27%20OR%201%3D1%20--",
                        "/api/v1/jobs?kind=sleep%27%3B%20DROP%20TABLE%20jobs%3B--",
                        "/api/v1/runs?state=running%27%20OR%20%271%27%3D%271",
                        "/api/v1/jobs?run=r1%20OR%201%3D1"}) {
    HttpResult r = http_get(p, q);
    if (std::string(q).find("run=") != std::string::npos) {
      EXPECT_EQ(r.status, 404) << q;
      continue;
    }
    ASSERT_EQ(r.status, 200) << q << r.body;
    const json j = json::parse(r.body);
    EXPECT_TRUE((j.contains("jobs") ? j["jobs"] : j["runs"]).empty()) << q;
  }
  EXPECT_EQ(json::parse(http_get(p, "/api/v1/jobs").body)["jobs"].size(), 3u)
      << "the table is still there";

  // A 100 MB body: refused from its declared length, before it is sent.
  HttpResult r =
      http_raw(p,
               "POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Content-Length: 104857600\r\n\r\n");
  EXPECT_EQ(r.status, 413);
  // And without a declared length, cut off at the limit.
  std::string chunked =
      "POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  const std::string chunk(64 * 1024, 'a');
  for (int i = 0; i < 20; ++i) chunked += "10000\r\n" + chunk + "\r\n";
  chunked += "0\r\n\r\n";
  r = http_raw(p, chunked);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(post(p, "/api/v1/runs", "{not json").status, 400);
}

TEST(DashboardSecurity, RedirectsGoOnlyToPathsOfThisOrigin) {
  EXPECT_TRUE(dashboard::is_local_path("/"));
  EXPECT_TRUE(dashboard::is_local_path("/runs/r1?state=dead"));
  for (const std::string& bad : std::vector<std::string>{
           "", "runs", "//evil.example", "/\\evil.example", "/\t/evil.example", "/\n/evil.example",
           "/\r\nSet-Cookie: x=1", std::string("/\0/evil", 7), "/x\x7f", "/a\\b",
           "/https://evil.example"})
    EXPECT_FALSE(dashboard::is_local_path(bad)) << bad;
}

TEST(DashboardSecurity, NoByteOfAFileNameCanReachAResponseHeaderRaw) {
  EXPECT_EQ(stored_ext("a/photo.PNG"), "png");
  EXPECT_EQ(stored_ext("notes.txt"), "txt");
  EXPECT_EQ(stored_ext("README"), "bin");
  EXPECT_EQ(stored_ext("x.png\r\nSet-Cookie: atelier_session=evil"), "bin");
  EXPECT_EQ(stored_ext("x.tar;gz"), "bin");
  const std::string d =
      dashboard::attachment_disposition("abc.png\r\nSet-Cookie: s=1\"; x=\xc3\xa9");
  EXPECT_EQ(d.find_first_of("\r\n"), std::string::npos) << d;
  EXPECT_EQ(
      d.rfind("attachment; filename=\"abc.png__Set-Cookie__s_1___x___\"; filename*=UTF-8''", 0), 0u)
      << d;
  EXPECT_NE(d.find("%0D%0ASet-Cookie%3A%20s%3D1%22%3B%20x%3D%C3%A9"), std::string::npos) << d;
}

TEST(DashboardSecurity, RequestFloodsGetTooManyRequests) {
  dashboard::ServerOptions so;
  so.rate_per_second = 1;
  so.rate_burst = 5;
  Served s(sql::Engine::sqlite, so);
  int ok = 0, limited = 0;
  for (int i = 0; i < 8; ++i) {
    const int st = http_get(s.port(), "/api/v1/whoami").status;
    ok += st == 200;
    limited += st == 429;
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(limited, 3);
  s.clock().advance(2000);
  EXPECT_EQ(http_get(s.port(), "/api/v1/whoami").status, 200) << "the bucket refills with time";
}

TEST(DashboardSecurity, OffLoopbackOrClosedReadingNeedsAToken) {
  dashboard::DashboardOptions d = exact();
  d.open_read = false;
  Served s(sql::Engine::sqlite, {}, d);
  auto store = s.tw.store();
  const std::string viewer = create_token(*store, "viewer", "wall", "tester").secret;
  EXPECT_EQ(http_get(s.port(), "/api/v1/runs").status, 401);
  HttpResult r = http_get(s.port(), "/runs");
  EXPECT_EQ(r.status, 303);
  EXPECT_EQ(r.header("Location"), "/login?next=%2Fruns");
  EXPECT_EQ(http_get(s.port(), "/api/v1/runs", bearer(viewer)).status, 200);
  EXPECT_EQ(http_get(s.port(), "/login").status, 200);
  EXPECT_EQ(http_get(s.port(), "/static/style.css").status, 200);
}

INSTANTIATE_STORE_SUITE(DashboardApi);

// A spec submitted over the API reads only the workspace (and import_roots) and
// writes only there (and export_roots): the workspace's key, a system file, a
// link out of the workspace and an outside export folder are each refused with
// 400 naming them, and nothing is imported.
TEST(DashboardSecurity, ASpecSubmittedOverTheApiIsConfinedToTheWorkspace) {
  Served s;
  auto store = s.tw.store();
  const std::string admin = create_token(*store, "admin", "ci", "tester").secret;
  namespace fs = std::filesystem;
  fs::create_directories(s.tw.dir() / "keys");
  std::ofstream(s.tw.dir() / "keys" / "workspace.ed25519") << "secret";
  const fs::path outside = s.tw.dir().string() + "-outside";
  fs::create_directories(outside);
  std::ofstream(outside / "brief.txt") << "brief";
  fs::create_directories(s.tw.dir() / "brand");
  fs::create_symlink(outside / "brief.txt", s.tw.dir() / "brand" / "brief.txt");
  std::ofstream(s.tw.dir() / "brand" / "ok.txt") << "ok";

  auto submit = [&](const std::string& with) {
    const std::string spec =
        "version: 1\nname: leak\nstages:\n  - id: s\n    kind: sleep\n    with: " + with + "\n";
    return post(s.port(), "/api/v1/runs", json{{"spec", spec}}.dump(), bearer(admin));
  };
  const std::pair<std::string, std::string> refused[] = {
      {R"({ms: 1, files: ["../keys/workspace.ed25519"]})", "signing key folder"},
      {R"({ms: 1, files: ["/etc/passwd"]})", "/etc/passwd is outside the folders"},
      {R"({ms: 1, files: ["../brand/"]})", "brief.txt"},
  };
  for (const auto& [with, why] : refused) {
    const HttpResult r = submit(with);
    EXPECT_EQ(r.status, 400) << with << r.body;
    EXPECT_NE(r.body.find(why), std::string::npos) << r.body;
  }
  const std::string caption =
      "version: 1\nname: out\nstages:\n  - id: c\n    kind: caption\n    with: {images: "
      "../brand/ok.txt, export_dir: " +
      (outside / "exports").string() + "}\n";
  HttpResult r = post(s.port(), "/api/v1/runs", json{{"spec", caption}}.dump(), bearer(admin));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("export_roots"), std::string::npos) << r.body;
  EXPECT_FALSE(fs::exists(outside / "exports"));
  EXPECT_FALSE(store->get_asset(sha256_hex("secret"))) << "the key was not imported";
  EXPECT_FALSE(store->get_asset(sha256_hex("brief"))) << "nor the linked file";

  // Inside the workspace it goes through, and the run is marked confined.
  std::filesystem::remove(s.tw.dir() / "brand" / "brief.txt");
  r = submit(R"({ms: 1, files: ["../brand/"]})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_TRUE(store->get_run(1)->confined);
  fs::remove_all(outside);
}
