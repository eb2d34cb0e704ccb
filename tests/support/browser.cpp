// Browser: process management for headless chromium, plus a minimal synchronous
// CDP client over one WebSocket to the page target. Replies are matched by id;
// every other message is an event that updates the page state kept in Impl.
#include "browser.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Poco/Base64Decoder.h>
#include <Poco/Buffer.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace atelier::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kStartLimit = std::chrono::seconds(30);
constexpr auto kCallLimit = std::chrono::seconds(30);
constexpr auto kNavigateLimit = std::chrono::seconds(30);
// Once a frame has started arriving, the rest of it must follow; only the wait
// for the first byte honours the caller's deadline (see read_message).
constexpr int kFrameReadSeconds = 30;
constexpr int kMaxPayload = 256 << 20;  // full-page screenshots are large base64 strings

// A JS exception, a CDP error reply or a call that ran out of time: the session is
// still usable, so wait_for may retry. Connection failures are plain runtime_errors.
struct EvalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::optional<fs::path> find_chromium() {
  if (const char* env = std::getenv("ATELIER_CHROMIUM"); env && *env) {
    if (::access(env, X_OK) == 0) return fs::path(env);
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    fs::path candidate = fs::path(dir) / "chromium";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The end of chromium's output, minus the D-Bus complaints it always prints in a
// container, so an error message shows what actually went wrong.
std::string log_tail(const fs::path& log) {
  std::stringstream in(slurp(log));
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    if (line.find("dbus") != std::string::npos) continue;
    kept += line + "\n";
  }
  constexpr size_t kTail = 3000;
  if (kept.size() > kTail) kept = "..." + kept.substr(kept.size() - kTail);
  return kept.empty() ? "(no output)" : kept;
}

int64_t ms_until(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? left : 0;
}

std::string describe_remote_object(const json& obj) {
  if (obj.contains("value")) {
    const json& v = obj["value"];
    return v.is_string() ? v.get<std::string>() : v.dump();
  }
  if (obj.contains("unserializableValue")) return obj["unserializableValue"].get<std::string>();
  if (obj.contains("description")) return obj["description"].get<std::string>();
  return obj.value("type", std::string("?"));
}

std::string describe_exception(const json& details) {
  // `exception.description` carries "Error: message" plus the stack; `text` alone is
  // often just "Uncaught", so prefer the former.
  std::string text = details.value("text", std::string());
  if (details.contains("exception")) {
    std::string desc = describe_remote_object(details["exception"]);
    text = text.empty() ? desc : text + " " + desc;
  }
  if (details.contains("url") && !details["url"].get<std::string>().empty()) {
    text += " (" + details["url"].get<std::string>() + ":" +
            std::to_string(details.value("lineNumber", 0) + 1) + ")";
  }
  return text;
}

bool truthy(const json& remote) {
  const std::string type = remote.value("type", std::string());
  if (type == "undefined") return false;
  if (remote.contains("unserializableValue")) {
    const std::string u = remote["unserializableValue"].get<std::string>();
    return u != "NaN" && u != "-0" && u != "0n";
  }
  if (!remote.contains("value")) return type == "object" || type == "function";
  const json& v = remote["value"];
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0.0;
  if (v.is_string()) return !v.get<std::string>().empty();
  return true;
}

}  // namespace

struct Browser::Impl {
  fs::path dir;  // temp dir: profile/ and chromium.log
  pid_t pid = -1;
  std::unique_ptr<Poco::Net::WebSocket> ws;
  int next_id = 1;

  // Page state, updated by events.
  std::string current_loader;  // loaderId of the main frame's current document
  bool loaded = false;         // load event seen for current_loader
  int main_navigations = 0;
  int navigations_baseline = 0;
  std::map<std::string, int> document_status;  // loaderId -> HTTP status
  std::vector<std::string> errors;
  std::string lost;  // why the page can no longer answer (renderer crash, detach)

  ~Impl() { stop(); }

  void start(const fs::path& binary);
  void stop();
  int wait_for_port(const fs::path& port_file, const fs::path& log, Clock::time_point deadline);
  std::string find_page(int port, const fs::path& log, Clock::time_point deadline);
  void connect(const std::string& ws_url);

  bool read_message(Clock::time_point deadline, std::string& out);
  void handle_event(const json& msg);
  int send(const std::string& method, const json& params);
  json call(const std::string& method, const json& params, Clock::time_point deadline);
  template <typename Pred>
  bool pump_until(Pred done, Clock::time_point deadline);
  void drain() {
    pump_until([] { return false; }, Clock::now());
  }
  json evaluate(const std::string& js, Clock::time_point deadline);
};

void Browser::Impl::start(const fs::path& binary) {
  std::string tmpl = (fs::temp_directory_path() / "atelier-chromium-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("browser: cannot create temp dir");
  dir = tmpl;
  const fs::path profile = dir / "profile";
  const fs::path log = dir / "chromium.log";
  fs::create_directories(profile);

  std::vector<std::string> args{
      binary.string(),
      "--headless=new",
      "--remote-debugging-port=0",
      "--user-data-dir=" + profile.string(),
      "--no-sandbox",  // tests run as root, where the sandbox refuses to start
      "--disable-gpu",
      // Containers often give /dev/shm only 64 MiB, which crashes renderers; Debian's
      // wrapper means to add this itself but its check breaks when /dev/shm is
      // mounted twice.
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--no-default-browser-check",
      "--window-size=1280,900",
      "--hide-scrollbars",
      "--disable-extensions",
      "--disable-background-networking",
      "--disable-sync",
      "--metrics-recording-only",
      "--mute-audio",
      "about:blank",
  };
  // Everything the child needs is prepared before fork: tests may fork from several
  // threads, and the child may only make async-signal-safe calls.
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) throw std::runtime_error("browser: cannot open " + log.string());
  const pid_t parent = ::getpid();
  pid = ::fork();
  if (pid == 0) {
    // Own process group so that renderers and helpers die with it in stop().
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the parent died before prctl
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  if (pid < 0) throw std::runtime_error("browser: fork failed");
  ::setpgid(pid, pid);  // also here, so stop() can signal the group even before exec

  const auto deadline = Clock::now() + kStartLimit;
  const int port = wait_for_port(profile / "DevToolsActivePort", log, deadline);
  connect(find_page(port, log, deadline));
  // Inspector only reports crashes and detaches, so a dead renderer fails the next call
  // at once instead of after its time limit.
  for (const char* domain : {"Inspector", "Page", "Runtime", "Network"}) {
    call(std::string(domain) + ".enable", json::object(), Clock::now() + kCallLimit);
  }
  // New headless sizes the window, not the page: --window-size=1280,900 leaves a
  // 1280x757 viewport. Pin the viewport itself so screenshots and layouts are stable.
  call("Emulation.setDeviceMetricsOverride",
       {{"width", 1280}, {"height", 900}, {"deviceScaleFactor", 1}, {"mobile", false}},
       Clock::now() + kCallLimit);
}

int Browser::Impl::wait_for_port(const fs::path& port_file, const fs::path& log,
                                 Clock::time_point deadline) {
  for (;;) {
    // The file holds "PORT\n/devtools/browser/ID"; it may be seen half-written, so
    // only a first line ending in a newline counts.
    const std::string text = slurp(port_file);
    if (auto nl = text.find('\n'); nl != std::string::npos) {
      try {
        int port = std::stoi(text.substr(0, nl));
        if (port > 0) return port;
      } catch (const std::exception&) {
      }
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      const std::string how = WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                                : "signal " + std::to_string(WTERMSIG(status));
      throw std::runtime_error("browser: chromium exited during startup (" + how + "):\n" +
                               log_tail(log));
    }
    if (Clock::now() > deadline) {
      throw std::runtime_error("browser: chromium wrote no DevToolsActivePort within 30 s:\n" +
                               log_tail(log));
    }
    std::this_thread::sleep_for(milliseconds(25));
  }
}

std::string Browser::Impl::find_page(int port, const fs::path& log, Clock::time_point deadline) {
  std::string last_error;
  for (;;) {
    try {
      Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
      session.setTimeout(Poco::Timespan(5, 0));
      Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, "/json/list",
                                 Poco::Net::HTTPMessage::HTTP_1_1);
      session.sendRequest(req);
      Poco::Net::HTTPResponse resp;
      std::string body;
      Poco::StreamCopier::copyToString(session.receiveResponse(resp), body);
      // New headless also lists "browser_ui" targets (omnibox popups); only a "page"
      // is the tab that about:blank opened in.
      for (const json& target : json::parse(body)) {
        if (target.value("type", "") == "page" && target.contains("webSocketDebuggerUrl")) {
          return target["webSocketDebuggerUrl"].get<std::string>();
        }
      }
      last_error = "no page target in /json/list: " + body;
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    if (Clock::now() > deadline) {
      throw std::runtime_error("browser: no page target on port " + std::to_string(port) + " (" +
                               last_error + "):\n" + log_tail(log));
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

void Browser::Impl::connect(const std::string& ws_url) {
  const Poco::URI uri(ws_url);
  Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
  session.setTimeout(Poco::Timespan(10, 0));
  Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, uri.getPathEtc(),
                             Poco::Net::HTTPMessage::HTTP_1_1);
  Poco::Net::HTTPResponse resp;
  try {
    ws = std::make_unique<Poco::Net::WebSocket>(session, req, resp);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("browser: WebSocket to " + ws_url + " failed: " + e.displayText());
  }
  ws->setMaxPayloadSize(kMaxPayload);
  ws->setReceiveTimeout(Poco::Timespan(kFrameReadSeconds, 0));
  ws->setNoDelay(true);
}

void Browser::Impl::stop() {
  if (ws) {
    try {
      ws->shutdown();
    } catch (...) {
    }
    try {
      ws->close();
    } catch (...) {
    }
    ws.reset();
  }
  if (pid > 0) {
    // SIGTERM lets chromium shut down its helpers itself; SIGKILL is the bound.
    ::kill(-pid, SIGTERM);
    bool reaped = false;
    for (int i = 0; i < 150 && !reaped; ++i) {
      int status = 0;
      reaped = ::waitpid(pid, &status, WNOHANG) == pid;
      if (!reaped) std::this_thread::sleep_for(milliseconds(20));
    }
    ::kill(-pid, SIGKILL);  // helpers that outlived the browser process, if any
    if (!reaped) {
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
    pid = -1;
  }
  if (!dir.empty()) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    dir.clear();
  }
}

// Reads one whole message, or returns false if none starts before `deadline`. Only
// the wait for the first byte is bounded by the deadline: a timeout in the middle
// of a frame would desynchronise the stream, so that uses the long socket timeout.
bool Browser::Impl::read_message(Clock::time_point deadline, std::string& out) {
  using Poco::Net::WebSocket;
  try {
    // available() also counts bytes Poco buffered during the handshake, which poll()
    // on the descriptor would not see.
    if (ws->available() <= 0 &&
        !ws->poll(Poco::Timespan(ms_until(deadline) * 1000), Poco::Net::Socket::SELECT_READ)) {
      return false;
    }
    Poco::Buffer<char> buf(0);
    for (;;) {
      const size_t before = buf.size();
      int flags = 0;
      const int n = ws->receiveFrame(buf, flags);
      const int op = flags & WebSocket::FRAME_OP_BITMASK;
      if (n == 0 && flags == 0) throw std::runtime_error("browser: chromium closed the connection");
      if (op == WebSocket::FRAME_OP_CLOSE) {
        throw std::runtime_error("browser: chromium closed the connection");
      }
      if (op == WebSocket::FRAME_OP_PING || op == WebSocket::FRAME_OP_PONG) {
        // Control frames may arrive between the fragments of a message.
        if (op == WebSocket::FRAME_OP_PING) {
          ws->sendFrame(buf.begin() + before, n,
                        int(WebSocket::FRAME_FLAG_FIN) | int(WebSocket::FRAME_OP_PONG));
        }
        buf.resize(before);
        continue;
      }
      if (flags & WebSocket::FRAME_FLAG_FIN) break;
    }
    out.assign(buf.begin(), buf.size());
    return true;
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("browser: CDP connection failed: " + e.displayText());
  }
}

void Browser::Impl::handle_event(const json& msg) {
  const std::string method = msg.value("method", "");
  const json params = msg.value("params", json::object());
  if (method == "Inspector.targetCrashed") {
    lost = "the page's renderer crashed";
  } else if (method == "Inspector.detached") {
    lost = "DevTools detached from the page (" + params.value("reason", "") + ")";
  } else if (method == "Page.frameNavigated") {
    const json frame = params.value("frame", json::object());
    if (!frame.contains("parentId")) {  // main frame
      ++main_navigations;
      current_loader = frame.value("loaderId", "");
      loaded = false;
    }
  } else if (method == "Page.javascriptDialogOpening") {
    // An open alert/confirm blocks the renderer, so every later call would time out.
    // Accepting mimics a user clicking OK; the reply is dropped like any stale one.
    send("Page.handleJavaScriptDialog", {{"accept", true}});
  } else if (method == "Page.loadEventFired") {
    loaded = true;
  } else if (method == "Network.responseReceived") {
    // Redirects never get here (they are on requestWillBeSent), so this is the final
    // status; keyed by loader because iframes' documents arrive here too.
    if (params.value("type", "") == "Document" && params.contains("loaderId")) {
      document_status[params["loaderId"].get<std::string>()] =
          params.value("response", json::object()).value("status", 0);
    }
  } else if (method == "Runtime.consoleAPICalled") {
    const std::string type = params.value("type", "");
    if (type == "error" || type == "assert") {
      std::string line = "console." + type + ":";
      for (const json& arg : params.value("args", json::array())) {
        line += " " + describe_remote_object(arg);
      }
      errors.push_back(line);
    }
  } else if (method == "Runtime.exceptionThrown") {
    errors.push_back("exception: " +
                     describe_exception(params.value("exceptionDetails", json::object())));
  }
}

int Browser::Impl::send(const std::string& method, const json& params) {
  if (!ws) throw std::runtime_error("browser: not connected");
  const int id = next_id++;
  const std::string text = json{{"id", id}, {"method", method}, {"params", params}}.dump();
  try {
    ws->sendFrame(text.data(), static_cast<int>(text.size()), Poco::Net::WebSocket::FRAME_TEXT);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("browser: CDP send failed: " + e.displayText());
  }
  return id;
}

json Browser::Impl::call(const std::string& method, const json& params,
                         Clock::time_point deadline) {
  if (!lost.empty()) throw std::runtime_error("browser: " + method + ": " + lost);
  const int id = send(method, params);
  std::string raw;
  while (read_message(deadline, raw)) {
    json msg = json::parse(raw);
    if (!msg.contains("id")) {
      handle_event(msg);
      if (!lost.empty()) throw std::runtime_error("browser: " + method + ": " + lost);
      continue;
    }
    // Replies to earlier calls that timed out are dropped here.
    if (msg["id"].get<int>() != id) continue;
    if (msg.contains("error")) {
      throw EvalError("browser: " + method + " failed: " + msg["error"].dump());
    }
    return msg.value("result", json::object());
  }
  throw EvalError("browser: no reply to " + method + " in time");
}

template <typename Pred>
bool Browser::Impl::pump_until(Pred done, Clock::time_point deadline) {
  std::string raw;
  while (!done()) {
    if (!read_message(deadline, raw)) return done();
    json msg = json::parse(raw);
    if (!msg.contains("id")) handle_event(msg);
    if (!lost.empty()) throw std::runtime_error("browser: " + lost);
  }
  return true;
}

json Browser::Impl::evaluate(const std::string& js, Clock::time_point deadline) {
  json result = call("Runtime.evaluate",
                     {{"expression", js},
                      {"returnByValue", true},
                      {"awaitPromise", true},
                      // Lets scripts do what needs a click (e.g. focus, clipboard).
                      {"userGesture", true}},
                     deadline);
  if (result.contains("exceptionDetails")) {
    throw EvalError("browser: script threw: " + describe_exception(result["exceptionDetails"]));
  }
  return result.value("result", json::object());
}

Browser::Browser() : impl_(std::make_unique<Impl>()) {
  const auto binary = find_chromium();
  if (!binary) {
    throw std::runtime_error(
        "browser: chromium not found (install Debian's `chromium` package or set "
        "ATELIER_CHROMIUM)");
  }
  // On a throw, impl_ is destroyed and its destructor kills chromium and removes the dir.
  impl_->start(*binary);
}

Browser::~Browser() = default;

bool Browser::available() {
  return find_chromium().has_value();
}

int Browser::navigate(const std::string& url) {
  Impl& s = *impl_;
  const auto deadline = Clock::now() + kNavigateLimit;
  s.drain();  // events of the previous page must not count for this one
  s.document_status.clear();
  const json r = s.call("Page.navigate", {{"url", url}}, deadline);
  const std::string error = r.value("errorText", "");
  // Chromium reports an HTTP error status with an empty body as this error, yet the
  // status is still what the caller wants to see.
  if (!error.empty() && error != "net::ERR_HTTP_RESPONSE_CODE_FAILURE") {
    throw std::runtime_error("browser: navigating to " + url + " failed: " + error);
  }
  if (!r.contains("loaderId")) {  // same-document navigation (#hash): no load event follows
    s.navigations_baseline = s.main_navigations;
    return 0;
  }
  const std::string loader = r["loaderId"].get<std::string>();
  if (!s.pump_until([&] { return s.current_loader == loader && s.loaded; }, deadline)) {
    throw std::runtime_error("browser: no load event for " + url + " within 30 s");
  }
  s.navigations_baseline = s.main_navigations;
  auto it = s.document_status.find(loader);
  return it == s.document_status.end() ? 0 : it->second;
}

json Browser::eval(const std::string& js) {
  const json remote = impl_->evaluate(js, Clock::now() + kCallLimit);
  if (remote.contains("value")) return remote["value"];
  if (remote.contains("unserializableValue")) return remote["unserializableValue"];
  return nullptr;
}

json Browser::cookies() {
  return impl_->call("Network.getAllCookies", json::object(), Clock::now() + kCallLimit)
      .value("cookies", json::array());
}

bool Browser::wait_for(const std::string& js_condition, int64_t limit_ms) {
  Impl& s = *impl_;
  const auto deadline = Clock::now() + milliseconds(limit_ms);
  std::string last_error;
  for (;;) {
    bool ok = false;
    try {
      // At least a second per attempt, so a short limit still gets one real try.
      const auto attempt_deadline = std::max(deadline, Clock::now() + std::chrono::seconds(1));
      ok = truthy(s.evaluate(js_condition, attempt_deadline));
      last_error.clear();
    } catch (const EvalError& e) {
      last_error = e.what();  // e.g. the context was replaced by a navigation
    }
    if (ok) return true;
    if (Clock::now() >= deadline) break;
    // Keep reading events while waiting, so navigations and errors are not delayed.
    s.pump_until([] { return false; }, std::min(deadline, Clock::now() + milliseconds(100)));
  }
  std::cerr << "browser: wait_for(" << js_condition << ") still false after " << limit_ms << " ms"
            << (last_error.empty() ? "" : "; last error: " + last_error) << "\n";
  return false;
}

void Browser::screenshot(const fs::path& file) {
  const json r =
      impl_->call("Page.captureScreenshot", {{"format", "png"}}, Clock::now() + kCallLimit);
  std::istringstream encoded(r.at("data").get<std::string>());
  Poco::Base64Decoder decoder(encoded);
  std::string png;
  Poco::StreamCopier::copyToString(decoder, png);
  if (file.has_parent_path()) fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(png.data(), static_cast<std::streamsize>(png.size()));
  out.close();
  if (!out) throw std::runtime_error("browser: cannot write screenshot " + file.string());
}

int Browser::navigations_since_load() const {
  impl_->drain();
  return impl_->main_navigations - impl_->navigations_baseline;
}

std::vector<std::string> Browser::console_errors() const {
  impl_->drain();
  return impl_->errors;
}

}  // namespace atelier::test
