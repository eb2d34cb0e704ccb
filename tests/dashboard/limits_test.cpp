// The dashboard's limits against held connections and guessed tokens, on a
// real server in this process: failed logins refused past their limit and
// audited once per window (an injected clock moves the window), request heads
// and bodies that do not arrive in time cut off (short configured deadlines),
// and live streams and connections counted per client address and in all,
// loopback addresses included (127.0.0.2 is not 127.0.0.1).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <map>

#include "dashboard/server.h"
#include "http_client.h"
#include "orchestrator/tokens.h"
#include "support/held_connections.h"
#include "support/test_workspace.h"

using namespace atelier;
using namespace atelier::test;

namespace {

class LimitedServer {
 public:
  explicit LimitedServer(dashboard::ServerOptions so, dashboard::DashboardOptions d = {})
      : clock_(std::make_shared<ManualClock>()),
        dash_(
            tw.ws(), clock_,
            [&] {
              d.summary_ttl_ms = 0;  // no background refresher: rows are written by requests
              return d;
            }(),
            [](const ScheduleRow&, const std::string&) -> ScheduledSubmit {
              throw std::logic_error("no schedules here");
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

// What the server sends on fd until it closes it or `until` appears (at most 10 s).
std::string read_from(int fd, const std::string& until = "") {
  std::string got;
  char buf[4096];
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < end) {
    if (!until.empty() && got.find(until) != std::string::npos) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0)
      got.append(buf, static_cast<size_t>(n));
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
      break;
  }
  return got;
}

int status_of(const std::string& got) {
  return got.rfind("HTTP/1.1 ", 0) == 0 && got.size() > 12 ? std::stoi(got.substr(9, 3)) : 0;
}

// Sends one more byte (as a slow client does) and reads what came back;
// true once the server has closed the connection.
bool trickle_until_closed(int fd, std::string& got) {
  ::send(fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  char buf[4096];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      got.append(buf, static_cast<size_t>(n));
      continue;
    }
    return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
  }
}

struct Stream {
  int fd = -1;
  int status = 0;
  std::string got;
};

Stream open_stream(const std::string& from, int port) {
  Stream s;
  s.fd = connect_from(from, port);
  const std::string head = "GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  ::send(s.fd, head.data(), head.size(), MSG_NOSIGNAL);
  s.got = read_from(s.fd, "retry: 2000");
  s.status = status_of(s.got);
  return s;
}

std::vector<EventRow> failed_login_rows(Store& store) {
  std::vector<EventRow> rows;
  for (EventRow& e : store.recent_events(1000))
    if (e.action == "login.failed") rows.push_back(std::move(e));
  return rows;
}

}  // namespace

TEST(DashboardLimits, FailedLoginsAreRefusedPastTheLimitAndAuditedOncePerWindow) {
  dashboard::DashboardOptions d;
  d.logins.max_failures = 5;
  d.logins.window_ms = 60'000;
  LimitedServer s({}, d);
  auto store = s.tw.store();
  const std::string admin = create_token(*store, "admin", "ops", "tester").secret;
  const int p = s.port();
  const std::string set = http_get(p, "/login").header("Set-Cookie");
  const std::string nonce = set.substr(14, set.find(';') - 14);
  auto login = [&](const std::string& token) {
    return http(p, {"POST",
                    "/login",
                    "token=" + token + "&login_nonce=" + nonce,
                    "application/x-www-form-urlencoded",
                    {{"Cookie", "atelier_login=" + nonce}}});
  };

  std::map<int, int> statuses;
  for (int i = 0; i < 50; ++i) {
    const HttpResult r = login("atl_guess" + std::to_string(i));
    ++statuses[r.status];
    if (r.status == 429) {
      EXPECT_EQ(r.header("Retry-After"), "60");
    }
  }
  EXPECT_EQ(statuses[401], 5);
  EXPECT_EQ(statuses[429], 45);
  EXPECT_EQ(login(admin).status, 429) << "while refused, a right token is refused too";
  // One row for the window so far: its first failure, written at once.
  auto rows = failed_login_rows(*store);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].target, "127.0.0.1");
  EXPECT_EQ(rows[0].details["failures"], 1);

  s.clock().advance(60'000);
  EXPECT_EQ(login(admin).status, 303) << "the window is over";
  // The window's closing row: the rest of its failures and its refused tries.
  rows = failed_login_rows(*store);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].details["failures"], 4);
  EXPECT_EQ(rows[0].details["refused"], 46);
  EXPECT_EQ(rows[0].details["failures"].get<int>() + rows[1].details["failures"].get<int>(), 5);

  // A bearer token that is not valid is a failed login as well.
  statuses.clear();
  for (int i = 0; i < 8; ++i)
    ++statuses[http_get(p, "/api/v1/whoami",
                        {{"Authorization", "Bearer atl_nope" + std::to_string(i)}})
                   .status];
  EXPECT_EQ(statuses[401], 5);
  EXPECT_EQ(statuses[429], 3);
  EXPECT_EQ(failed_login_rows(*store).size(), 3u);
  EXPECT_EQ(http_get(p, "/api/v1/whoami").status, 200) << "reading without a token is not refused";
}

TEST(DashboardLimits, AHeadOrBodyThatDoesNotArriveInTimeIsCutOff) {
  dashboard::ServerOptions so;
  so.header_timeout_ms = 300;
  so.body_timeout_ms = 300;
  LimitedServer s(so);
  const int p = s.port();

  // A head that keeps coming a byte at a time still has to end in time: 408.
  const int head = connect_from("127.0.0.2", p);
  const std::string part = "GET /api/v1/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
  ::send(head, part.data(), part.size(), MSG_NOSIGNAL);
  std::string got;
  EXPECT_TRUE(wait_until([&] { return trickle_until_closed(head, got); }, 10'000))
      << "a dribbled head held its connection";
  EXPECT_EQ(status_of(got), 408) << got;
  ::close(head);

  // So does a body: the connection is closed under it.
  const int body = connect_from("127.0.0.2", p);
  const std::string post =
      "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\ntoken=";
  ::send(body, post.data(), post.size(), MSG_NOSIGNAL);
  got.clear();
  EXPECT_TRUE(wait_until([&] { return trickle_until_closed(body, got); }, 10'000))
      << "a dribbled body held its connection";
  ::close(body);

  // A chunked body cut off reads as if it had ended: it is not handled all the
  // same (a login form cut after "token=atl_" would count as a failed login).
  const std::string set = http_get(p, "/login").header("Set-Cookie");
  const std::string nonce = set.substr(14, set.find(';') - 14);
  const int chunked = connect_from("127.0.0.2", p);
  const std::string form = "login_nonce=" + nonce + "&token=atl_";
  const std::string post_head =
      "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: atelier_login=" + nonce +
      "\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: "
      "chunked\r\n\r\n400\r\n" +
      form;
  ::send(chunked, post_head.data(), post_head.size(), MSG_NOSIGNAL);
  got.clear();
  EXPECT_TRUE(wait_until([&] { return trickle_until_closed(chunked, got); }, 10'000));
  ::close(chunked);
  EXPECT_TRUE(failed_login_rows(*s.tw.store()).empty()) << "a cut-off body was handled";

  // And a connection that never sends a byte is closed.
  const int idle = connect_from("127.0.0.2", p);
  EXPECT_TRUE(wait_until(
      [&] {
        char c;
        const ssize_t n = ::recv(idle, &c, 1, MSG_DONTWAIT);
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
      },
      10'000));
  ::close(idle);
  EXPECT_EQ(http_get(p, "/api/v1/whoami").status, 200);
}

TEST(DashboardLimits, LiveStreamsAndConnectionsAreCountedPerClientAndInAll) {
  dashboard::ServerOptions so;
  so.max_threads = 8;
  so.max_streams = 3;
  so.max_streams_per_client = 2;
  so.max_connections = 10;
  so.max_connections_per_client = 4;
  LimitedServer s(so);
  const int p = s.port();

  Stream a1 = open_stream("127.0.0.2", p), a2 = open_stream("127.0.0.2", p);
  EXPECT_EQ(a1.status, 200) << a1.got;
  EXPECT_EQ(a2.status, 200) << a2.got;
  Stream a3 = open_stream("127.0.0.2", p);
  EXPECT_EQ(a3.status, 429) << a3.got;
  EXPECT_NE(a3.got.find("too many live streams from this address (limit 2)"), std::string::npos);
  Stream b1 = open_stream("127.0.0.3", p), b2 = open_stream("127.0.0.3", p);
  EXPECT_EQ(b1.status, 200) << b1.got;
  EXPECT_EQ(b2.status, 503) << b2.got;
  EXPECT_NE(b2.got.find("limit of 3 live streams"), std::string::npos) << b2.got;
  EXPECT_EQ(http_get(p, "/api/v1/whoami").status, 200) << "the streams leave threads for requests";

  // A stream whose client has gone gives its place back without waiting for a write.
  ::close(a1.fd);
  Stream again;
  EXPECT_TRUE(wait_until([&] {
    if (again.fd >= 0) ::close(again.fd);
    again = open_stream("127.0.0.2", p);
    return again.status == 200;
  }));

  // Connections: 4 from one address, the fifth refused at once (nothing was sent).
  std::vector<int> held;
  for (int i = 0; i < 4; ++i) held.push_back(connect_from("127.0.0.4", p));
  const int fifth = connect_from("127.0.0.4", p);
  const std::string refused = read_from(fifth);
  EXPECT_EQ(status_of(refused), 429) << refused;
  EXPECT_NE(refused.find("too many connections from this address (limit 4)"), std::string::npos);
  ::close(fifth);
  // Open now: a2, again, b1 and the 4: 7 of 10. Three more fill the server.
  for (int i = 0; i < 3; ++i) held.push_back(connect_from("127.0.0.5", p));
  const int over = connect_from("127.0.0.6", p);
  const std::string full = read_from(over);
  EXPECT_EQ(status_of(full), 503) << full;
  ::close(over);
  for (int fd : held) ::close(fd);
  EXPECT_TRUE(wait_until([&] { return timed_get(p, "/api/v1/whoami", 5000).status == 200; }))
      << "places come back as connections close";
  for (int fd : {a2.fd, a3.fd, b1.fd, b2.fd, again.fd}) ::close(fd);
}
