// The dashboard in a real browser (Debian's headless Chromium over CDP) against
// a real `atelier serve` process with its workers: the overview, a run page
// that turns live from running to succeeded and fills its gallery without a
// reload, and an asset page showing its image. Screenshots of each are written
// under test-artifacts/dashboard/. Waits are bounded; nothing asserts on time.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <regex>
#include <thread>

#include "orchestrator/tokens.h"
#include "support/browser.h"
#include "support/process.h"
#include "support/test_workspace.h"
#include "support/tiny_model.h"

using namespace atelier;
using namespace atelier::test;
namespace fs = std::filesystem;

namespace {

const fs::path kArtifacts = fs::path(ATELIER_TEST_ARTIFACTS) / "dashboard";

// The URL `atelier serve --port 0` printed.
std::string wait_for_url(const fs::path& log) {
  static const std::regex url(R"(dashboard: (http://127\.0\.0\.1:[0-9]+)/)");
  std::string found;
  wait_until([&] {
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    std::smatch m;
    if (std::regex_search(text, m, url)) found = m[1];
    return !found.empty();
  });
  return found;
}

}  // namespace

TEST(DashboardBrowser, OverviewRunPageUpdatesLiveAndAssetPageShowsTheImage) {
  if (!Browser::available()) GTEST_SKIP() << "chromium is not installed";
  TempWorkspace tw(fast_config());
  write_tiny_model(tw.dir() / "models", "tiny");
  const std::string w = tw.dir().string();
  // The run waits on a paused kind, so the page can be open before its job runs.
  ASSERT_EQ(run_atelier({"-w", w, "pause", "generate"}).exit_code, 0);
  const auto spec = tw.write_file("art.yaml", R"(version: 1
name: spring <script>alert(1)</script> campaign
stages:
  - id: art
    kind: generate
    with: {prompt: "red apple <img src=x onerror=alert(2)>", model: tiny, count: 2, seed: 7, steps: 2, size: 32}
)");
  ASSERT_EQ(run_atelier({"-w", w, "submit", spec.string()}).exit_code, 0);

  const fs::path log = tw.dir() / "serve.log";
  BackgroundProc serve({"-w", w, "serve", "--port", "0", "--workers", "generate=1"}, log.string());
  const std::string base = wait_for_url(log);
  ASSERT_FALSE(base.empty()) << "serve did not print its URL";

  Browser b;
  ASSERT_EQ(b.navigate(base + "/"), 200);
  EXPECT_TRUE(b.wait_for("document.querySelector('#queue tr[data-kind=\"generate\"]') !== null"));
  EXPECT_EQ(b.eval("document.querySelector('h1').textContent"), "Overview");
  b.screenshot(kArtifacts / "overview.png");

  ASSERT_EQ(b.navigate(base + "/runs/r1"), 200);
  EXPECT_EQ(b.eval("document.querySelector('#run-state .state').dataset.state"), "running");
  EXPECT_EQ(b.eval("document.querySelectorAll('#gallery img').length"), 0);
  // The name holds a <script>: it shows as text, and nothing ran.
  EXPECT_NE(b.eval("document.querySelector('h1').textContent").get<std::string>().find("<script>"),
            std::string::npos);
  b.eval("window.__still_here = 42");
  ASSERT_EQ(run_atelier({"-w", w, "resume", "generate"}).exit_code, 0);
  EXPECT_TRUE(
      b.wait_for("document.querySelector('#run-state .state').dataset.state === 'succeeded' && "
                 "document.querySelectorAll('#gallery img').length === 2",
                 120'000))
      << "the page did not update";
  EXPECT_EQ(b.eval("window.__still_here"), 42) << "the page was reloaded";
  EXPECT_EQ(b.navigations_since_load(), 0);
  EXPECT_EQ(b.eval("document.querySelector('.stage[data-stage=\"art\"] [data-count=\"succeeded\"]')"
                   ".textContent.trim()"),
            "succeeded 1");
  EXPECT_TRUE(
      b.wait_for("Array.from(document.querySelectorAll('#gallery img')).every(i => i.complete && "
                 "i.naturalWidth === 32)"));
  b.screenshot(kArtifacts / "run.png");

  const std::string sha = b.eval("document.querySelector('#gallery a').dataset.sha");
  ASSERT_EQ(b.navigate(base + "/asset/" + sha), 200);
  EXPECT_TRUE(
      b.wait_for("document.querySelector('img.asset').complete && "
                 "document.querySelector('img.asset').naturalWidth === 32"));
  EXPECT_EQ(b.eval("document.querySelector('main a[href=\"/jobs/j1\"]') !== null"), true)
      << "made by j1";
  EXPECT_EQ(b.eval("document.querySelector('.lineage li') !== null"), true);
  b.screenshot(kArtifacts / "asset.png");
  EXPECT_TRUE(b.console_errors().empty()) << b.console_errors().front();
  for (const char* f : {"overview.png", "run.png", "asset.png"})
    EXPECT_GT(fs::file_size(kArtifacts / f), 1000u) << f;

  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(), 0) << "serve drains and exits 0 on SIGTERM";
}

// Logging in through the real form in a real browser: a `next` that would lead
// to another origin (a tab after the slash, which browsers drop) lands on this
// dashboard's overview instead, and the login nonce cookie is gone afterwards
// (it is cleared under the Path it was set with).
TEST(DashboardBrowser, LoginStaysOnThisOriginAndLeavesNoNonceCookie) {
  if (!Browser::available()) GTEST_SKIP() << "chromium is not installed";
  TempWorkspace tw(fast_config());
  const std::string w = tw.dir().string();
  const std::string admin = create_token(*tw.store(), "admin", "browser", "tester").secret;
  const fs::path log = tw.dir() / "serve.log";
  BackgroundProc serve({"-w", w, "serve", "--port", "0", "--no-open-read"}, log.string());
  const std::string base = wait_for_url(log);
  ASSERT_FALSE(base.empty()) << "serve did not print its URL";

  Browser b;
  for (const std::string next : {"/%09/evil.example", "//evil.example", "/%5Cevil.example"}) {
    ASSERT_EQ(b.navigate(base + "/login?next=" + next), 200) << next;
    b.eval("document.querySelector('input[name=token]').value = '" + admin +
           "'; document.querySelector('form.login').submit()");
    EXPECT_TRUE(
        b.wait_for("location.pathname === '/' && document.querySelector('h1') && "
                   "document.querySelector('h1').textContent === 'Overview'"))
        << next << ": " << b.eval("location.href");
    EXPECT_EQ(b.eval("location.origin"), base) << next;
    bool session = false;
    for (const auto& c : b.cookies()) {
      EXPECT_NE(c["name"], "atelier_login") << "the nonce cookie outlived the login";
      session = session || c["name"] == "atelier_session";
    }
    EXPECT_TRUE(session) << "logged in";
  }
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(), 0);
}
