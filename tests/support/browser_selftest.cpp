// Exercises the Browser test driver against pages served from an in-process HTTP
// server: status codes, waiting for a script's DOM update without a reload,
// reload counting, eval results and errors, console errors, and screenshots.
#include "support/browser.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

namespace atelier::test {
namespace {

namespace fs = std::filesystem;
using Poco::Net::HTTPResponse;

const char* kIndex = R"(<!doctype html>
<html><head><meta charset="utf-8"><title>selftest</title></head>
<body>
  <h1 id="status">loading</h1>
  <button id="go" onclick="document.getElementById('count').textContent = ++window.clicks">go</button>
  <p id="count">0</p>
  <p>日本語のテキスト</p>
  <script>
    window.clicks = 0;
    // The text only changes after a delayed fetch, so a test must really wait.
    setTimeout(() => fetch('/api/data').then(r => r.json()).then(d => {
      document.getElementById('status').textContent = d.text;
    }), 300);
  </script>
</body></html>)";

const char* kThrows = R"(<!doctype html>
<html><body><p>broken</p>
  <script>console.error('console-boom', 42);</script>
  <script>throw new Error('boom-from-page');</script>
  <script>Promise.reject(new Error('rejected-boom'));</script>
</body></html>)";

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp) override {
    const std::string uri = req.getURI();
    auto send = [&](HTTPResponse::HTTPStatus status, const std::string& type,
                    const std::string& body) {
      resp.setStatus(status);
      resp.setContentType(type);
      resp.setContentLength(static_cast<std::streamsize>(body.size()));
      resp.send() << body;
    };
    if (uri == "/") {
      send(HTTPResponse::HTTP_OK, "text/html; charset=utf-8", kIndex);
    } else if (uri == "/api/data") {
      send(HTTPResponse::HTTP_OK, "application/json", R"({"text":"ready"})");
    } else if (uri == "/throws") {
      send(HTTPResponse::HTTP_OK, "text/html; charset=utf-8", kThrows);
    } else if (uri == "/missing") {
      send(HTTPResponse::HTTP_NOT_FOUND, "text/html", "<p>no such page</p>");
    } else if (uri == "/empty-500") {
      send(HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "text/plain", "");
    } else {
      send(HTTPResponse::HTTP_NOT_FOUND, "text/plain", "not found");
    }
  }
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler;
  }
};

class BrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Browser::available()) GTEST_SKIP() << "chromium is not installed";
    server_ = std::make_unique<Poco::Net::HTTPServer>(
        new Factory, Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0)),
        new Poco::Net::HTTPServerParams);
    server_->start();
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
    const auto t0 = std::chrono::steady_clock::now();
    browser_ = std::make_unique<Browser>();
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    RecordProperty("chromium_start_ms", static_cast<int>(ms));
  }
  void TearDown() override {
    browser_.reset();
    if (server_) server_->stopAll(true);
  }

  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::string base_;
  std::unique_ptr<Browser> browser_;
};

TEST_F(BrowserTest, WaitsForScriptUpdateWithoutReload) {
  Browser& b = *browser_;
  EXPECT_EQ(b.navigate(base_ + "/"), 200);
  EXPECT_EQ(b.eval("document.title"), "selftest");
  ASSERT_TRUE(b.wait_for("document.getElementById('status').textContent === 'ready'"));
  EXPECT_EQ(b.navigations_since_load(), 0);

  b.eval("document.getElementById('go').click(); document.getElementById('go').click()");
  ASSERT_TRUE(b.wait_for("document.getElementById('count').textContent === '2'", 5000));
  EXPECT_EQ(b.navigations_since_load(), 0);
  EXPECT_TRUE(b.console_errors().empty()) << testing::PrintToString(b.console_errors());
}

TEST_F(BrowserTest, CountsReloads) {
  Browser& b = *browser_;
  ASSERT_EQ(b.navigate(base_ + "/"), 200);
  b.eval("window.marker = 1; setTimeout(() => location.reload(), 50); true");
  ASSERT_TRUE(
      b.wait_for("window.marker === undefined && document.readyState === 'complete'", 10000));
  EXPECT_EQ(b.navigations_since_load(), 1);
  ASSERT_EQ(b.navigate(base_ + "/"), 200);
  EXPECT_EQ(b.navigations_since_load(), 0);
}

TEST_F(BrowserTest, ReportsHttpStatus) {
  Browser& b = *browser_;
  EXPECT_EQ(b.navigate(base_ + "/missing"), 404);
  EXPECT_EQ(b.eval("document.body.textContent"), "no such page");
  EXPECT_EQ(b.navigate(base_ + "/empty-500"), 500);
  EXPECT_EQ(b.navigate(base_ + "/"), 200);
}

TEST_F(BrowserTest, EvalReturnsValuesAndThrows) {
  Browser& b = *browser_;
  b.navigate(base_ + "/");
  EXPECT_EQ(b.eval("1 + 2"), 3);
  EXPECT_EQ(b.eval("({a: [1, 'x'], b: null})"), nlohmann::json::parse(R"({"a":[1,"x"],"b":null})"));
  EXPECT_EQ(b.eval("new Promise(r => setTimeout(() => r('later'), 100))"), "later");
  EXPECT_TRUE(b.eval("undefined").is_null());
  EXPECT_EQ(b.eval("NaN"), "NaN");
  try {
    b.eval("throw new Error('eval-boom')");
    FAIL() << "eval did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("eval-boom"), std::string::npos) << e.what();
  }
  EXPECT_THROW(b.eval("Promise.reject(new Error('async-boom'))"), std::runtime_error);
  // A failing eval is the caller's, not the page's.
  EXPECT_TRUE(b.console_errors().empty()) << testing::PrintToString(b.console_errors());
  EXPECT_FALSE(b.wait_for("window.never_defined.x", 300));
  EXPECT_FALSE(b.wait_for("false", 300));
}

TEST_F(BrowserTest, CollectsPageErrors) {
  Browser& b = *browser_;
  ASSERT_EQ(b.navigate(base_ + "/throws"), 200);
  auto has = [&](const std::string& needle) {
    for (const auto& e : b.console_errors()) {
      if (e.find(needle) != std::string::npos) return true;
    }
    return false;
  };
  // The rejection is reported asynchronously, after the load event.
  ASSERT_TRUE(b.wait_for("new Promise(r => setTimeout(() => r(true), 200))", 5000));
  EXPECT_TRUE(has("console-boom")) << testing::PrintToString(b.console_errors());
  EXPECT_TRUE(has("boom-from-page")) << testing::PrintToString(b.console_errors());
  EXPECT_TRUE(has("rejected-boom")) << testing::PrintToString(b.console_errors());
}

TEST_F(BrowserTest, SavesScreenshotPng) {
  Browser& b = *browser_;
  ASSERT_EQ(b.navigate(base_ + "/"), 200);
  ASSERT_TRUE(b.wait_for("document.getElementById('status').textContent === 'ready'"));
  char tmpl[] = "/tmp/atelier-shot-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path file = fs::path(tmpl) / "nested" / "dir" / "page.png";
  b.screenshot(file);
  ASSERT_TRUE(fs::exists(file));
  std::ifstream in(file, std::ios::binary);
  std::string png((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // IHDR width and height, big-endian at offsets 16 and 20: the configured window.
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(png[at])) << 24) | (uint32_t(uint8_t(png[at + 1])) << 16) |
           (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
  };
  EXPECT_EQ(be32(16), 1280u);
  EXPECT_EQ(be32(20), 900u);
  fs::remove_all(tmpl);
}

TEST(BrowserStartup, MissingBinaryFailsClearly) {
  ::setenv("ATELIER_CHROMIUM", "/bin/false", 1);
  try {
    Browser b;
    FAIL() << "started a browser from /bin/false";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("exited during startup"), std::string::npos) << e.what();
  }
  ::unsetenv("ATELIER_CHROMIUM");
}

}  // namespace
}  // namespace atelier::test
