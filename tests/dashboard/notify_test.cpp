// Run-end webhooks through a real HTTP receiver on a loopback port: a spec's
// `notify:` is kept with its run, posted once the run ends in a listed state,
// retried with backoff (on an injected clock) while the receiver fails, given
// up after max_attempts, skipped for unlisted states, and audited throughout.
#include <gtest/gtest.h>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "dashboard/webhook_post.h"
#include "common/errors.h"
#include "orchestrator/notifier.h"
#include "pipelines/prepare_run.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;
using json = nlohmann::json;

namespace {

// Answers 500 to the first `fail_first` posts, then 204; keeps every body.
class Receiver {
 public:
  explicit Receiver(int fail_first) : fail_first_(fail_first) {
    Poco::Net::ServerSocket sock(Poco::Net::SocketAddress("127.0.0.1", 0));
    port_ = sock.address().port();
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), sock,
                                                      new Poco::Net::HTTPServerParams);
    server_->start();
  }
  ~Receiver() { server_->stopAll(true); }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<json> bodies() {
    std::lock_guard l(mu_);
    return bodies_;
  }
  int posts() const { return posts_; }

 private:
  struct Handler : Poco::Net::HTTPRequestHandler {
    Receiver& r;
    explicit Handler(Receiver& rr) : r(rr) {}
    void handleRequest(Poco::Net::HTTPServerRequest& req,
                       Poco::Net::HTTPServerResponse& res) override {
      std::string body;
      Poco::StreamCopier::copyToString(req.stream(), body);
      const int n = ++r.posts_;
      {
        std::lock_guard l(r.mu_);
        r.bodies_.push_back(json::parse(body, nullptr, false));
      }
      res.setStatus(n <= r.fail_first_ ? Poco::Net::HTTPResponse::HTTP_INTERNAL_SERVER_ERROR
                                       : Poco::Net::HTTPResponse::HTTP_NO_CONTENT);
      res.setContentLength(0);
      res.send();
    }
  };
  struct Factory : Poco::Net::HTTPRequestHandlerFactory {
    Receiver& r;
    explicit Factory(Receiver& rr) : r(rr) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(r);
    }
  };
  int fail_first_;
  int port_ = 0;
  std::atomic<int> posts_{0};
  std::mutex mu_;
  std::vector<json> bodies_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

int64_t submit(TempWorkspace& tw, Store& store, const std::string& notify_yaml) {
  const auto spec =
      tw.write_file("n.yaml", "version: 1\nname: nightly\n" + notify_yaml +
                                  "stages:\n  - id: a\n    kind: sleep\n    with: {ms: 1}\n");
  NewRun run = prepare_run(tw.ws(), {spec, {}, std::nullopt, "tester"}, nullptr, &store);
  return store.submit_run(run).run_id;
}

// Ends the run's only job as the queue would.
void finish(Store& store, bool ok) {
  auto lease = store.claim({"w", 1, {"sleep"}, 1, 60'000, "/tmp/l"});
  ASSERT_EQ(lease.size(), 1u);
  if (ok)
    store.complete({{lease[0].job_id, lease[0].attempt}});
  else
    store.fail(lease[0].job_id, lease[0].attempt, FailKind::invalid, "bad params");
}

int audits(Store& store, const std::string& action) {
  int n = 0;
  for (const EventRow& e : store.recent_events(1000)) n += e.action == action;
  return n;
}

PostJson poster() {
  return [](const std::string& url, const std::string& body) {
    return dashboard::post_json(url, body, 5);
  };
}

}  // namespace

TEST(Notify, ARunEndIsPostedAndRetriedWithBackoffUntilDelivered) {
  TempWorkspace tw;
  Receiver hook(2);
  auto clock = std::make_shared<ManualClock>();
  auto store = tw.store(clock);
  const int64_t run =
      submit(tw, *store, "notify: {url: \"" + hook.url() + "\", on: [succeeded, failed]}\n");
  Notifier notifier(*store, *clock, poster(), {.max_attempts = 5, .backoff_ms = 1000});
  EXPECT_EQ(notifier.tick(), 0);
  EXPECT_EQ(hook.posts(), 0) << "nothing is posted while the run is running";
  finish(*store, true);
  ASSERT_EQ(store->get_run(run)->state, "succeeded");

  EXPECT_EQ(notifier.tick(), 0);  // the receiver answers 500
  auto n = store->run_notifications(run).at(0);
  EXPECT_EQ(n.state, "waiting");
  EXPECT_EQ(n.attempts, 1);
  EXPECT_EQ(n.next_at, clock->now_ms() + 1000);
  EXPECT_NE(n.last_error.find("500"), std::string::npos);
  EXPECT_EQ(notifier.tick(), 0) << "not due again yet";
  EXPECT_EQ(hook.posts(), 1);
  clock->advance(1000);
  EXPECT_EQ(notifier.tick(), 0);  // 500 again; the wait doubles
  EXPECT_EQ(store->run_notifications(run).at(0).next_at, clock->now_ms() + 2000);
  clock->advance(2000);
  EXPECT_EQ(notifier.tick(), 1);
  n = store->run_notifications(run).at(0);
  EXPECT_EQ(n.state, "delivered");
  EXPECT_EQ(n.attempts, 3);
  clock->advance(100'000);
  EXPECT_EQ(notifier.tick(), 0);
  EXPECT_EQ(hook.posts(), 3) << "delivered once, never again";

  const json body = hook.bodies().back();
  EXPECT_EQ(body["event"], "run.finished");
  EXPECT_EQ(body["run"], "r1");
  EXPECT_EQ(body["state"], "succeeded");
  EXPECT_EQ(body["jobs"]["succeeded"], 1);
  EXPECT_EQ(body["delivery"], "n1");
  EXPECT_EQ(audits(*store, "notify.retry"), 2);
  EXPECT_EQ(audits(*store, "notify.delivered"), 1);
}

TEST(Notify, UnlistedStatesAreSkippedAndDeadReceiversGiveUp) {
  TempWorkspace tw;
  Receiver hook(1000);
  auto clock = std::make_shared<ManualClock>();
  auto store = tw.store(clock);
  const int64_t run = submit(tw, *store,
                             "notify:\n  - {url: \"" + hook.url("/ok") +
                                 "\", on: [succeeded]}\n"
                                 "  - {url: \"" +
                                 hook.url("/fail") +
                                 "\", on: [failed]}\n"
                                 "  - {url: \"http://127.0.0.1:1/nobody\"}\n");
  finish(*store, false);
  ASSERT_EQ(store->get_run(run)->state, "failed");
  Notifier notifier(*store, *clock, poster(), {.max_attempts = 2, .backoff_ms = 10});
  notifier.tick();
  clock->advance(10);
  notifier.tick();
  const auto ns = store->run_notifications(run);
  ASSERT_EQ(ns.size(), 3u);
  EXPECT_EQ(ns[0].state, "skipped") << "only wanted succeeded";
  EXPECT_EQ(ns[0].attempts, 0);
  EXPECT_EQ(ns[1].state, "failed");
  EXPECT_EQ(ns[1].attempts, 2);
  EXPECT_EQ(ns[2].state, "failed") << "nothing listens on port 1";
  EXPECT_FALSE(ns[2].last_error.empty());
  EXPECT_EQ(hook.posts(), 2);
  EXPECT_EQ(audits(*store, "notify.failed"), 2);
}

TEST(Notify, SpecErrorsNameTheField) {
  TempWorkspace tw;
  auto store = tw.store();
  auto message = [&](const std::string& yaml) {
    try {
      submit(tw, *store, yaml);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("notify: {url: \"ftp://x\"}\n").find("http:// or https://"), std::string::npos);
  EXPECT_NE(
      message("notify: {url: \"http://x\", on: [done]}\n").find("'done' is not a run end state"),
      std::string::npos);
  EXPECT_NE(message("notify: {on: [failed]}\n").find("missing 'url'"), std::string::npos);
  EXPECT_NE(message("notify: {url: \"http://x\", when: 1}\n").find("unknown key 'when'"),
            std::string::npos);
  EXPECT_NE(message("notify: 3\n").find("n.yaml:3:"), std::string::npos);
}

TEST(Notify, AHangingReceiverHoldsUpOnlyTheDeliveryThread) {
  TempWorkspace tw;
  auto clock = std::make_shared<ManualClock>();
  auto store = tw.store(clock);
  const int64_t run = submit(tw, *store, "notify: {url: \"http://hook.invalid/x\"}\n");
  finish(*store, true);

  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, released = false;
  std::thread::id poster_thread;
  PostJson hang = [&](const std::string&, const std::string&) {
    std::unique_lock l(mu);
    entered = true;
    poster_thread = std::this_thread::get_id();
    cv.notify_all();
    cv.wait(l, [&] { return released; });
    return PostResult{204, ""};
  };
  NotifierThread webhooks(tw.store(clock), *clock, hang, 10);
  {
    std::unique_lock l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(60), [&] { return entered; }));
  }
  // While the receiver hangs, this thread and the database go on.
  EXPECT_NE(poster_thread, std::this_thread::get_id());
  const int64_t next = submit(tw, *store, "");
  EXPECT_GT(next, run);
  EXPECT_EQ(store->run_notifications(run).at(0).state, "waiting");
  {
    std::lock_guard l(mu);
    released = true;
  }
  cv.notify_all();
  EXPECT_TRUE(wait_until([&] { return store->run_notifications(run).at(0).state == "delivered"; }));
  webhooks.stop();
  EXPECT_EQ(audits(*store, "notify.delivered"), 1);
}
