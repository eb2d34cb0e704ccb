// A headless Chromium driven over the Chrome DevTools Protocol, for browser
// tests of the dashboard: open a page, evaluate JS, wait on a JS condition
// without reloading, count reloads, collect JS errors, and save screenshots.
//
// Invariants:
// - Each Browser owns one chromium process group and one fresh temp dir (profile and
//   chromium's log); the destructor (or a failed constructor) kills the whole group
//   and removes the dir, so no state leaks between tests.
// - Every wait is bounded; a hang in the browser becomes an exception, never a stuck test.
// - Events (navigations, load, console, exceptions) are only read while a call talks
//   to the browser. Because the protocol delivers them in order, anything the page did
//   before a reply (e.g. a reload that preceded the eval which saw new text) has been
//   counted by the time that reply is returned.
// - A renderer crash makes every later call throw at once; JS dialogs (alert, confirm,
//   beforeunload) are accepted automatically, since an open one blocks the page.
// - Not thread-safe: use one Browser from one thread. Chromium is also killed if the
//   thread that constructed the Browser exits (PR_SET_PDEATHSIG), so a crashed test
//   binary leaves no browser behind.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace atelier::test {

class Browser {
 public:
  // Starts headless chromium (binary: $ATELIER_CHROMIUM if set, else `chromium` on PATH)
  // and attaches to its page. Throws std::runtime_error, with the tail of chromium's
  // output, if it is missing or does not come up within 30 s.
  Browser();
  ~Browser();
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  // Whether a chromium binary can be found (see the constructor).
  static bool available();

  // Navigates and waits (bounded, 30 s) for the new document's load event. Returns the
  // HTTP status of the main document if known, else 0. Throws if the navigation fails
  // below HTTP (e.g. connection refused); HTTP error statuses are returned, not thrown.
  int navigate(const std::string& url);

  // Evaluates `js` in the page (promises are awaited) and returns its value as JSON:
  // `undefined` gives null, NaN/Infinity/BigInt their string form, DOM nodes, functions
  // and Maps `{}` (return their text or fields instead). Throws std::runtime_error with
  // the exception text if the script threw, or if the value cannot be sent (a Symbol).
  nlohmann::json eval(const std::string& js);

  // Polls `js_condition` every 100 ms until it is truthy or `limit_ms` passes; returns the
  // last truthiness. A throwing condition counts as false (the page may not be ready); on
  // timeout the last error is printed to stderr. Lost connections still throw.
  bool wait_for(const std::string& js_condition, int64_t limit_ms = 20000);

  // Saves a PNG of the viewport (1280x900) to `file`, creating parent directories.
  void screenshot(const std::filesystem::path& file);

  // Every cookie the browser holds, HttpOnly ones included, as CDP's
  // Network.getAllCookies gives them: [{name, value, path, httpOnly, ...}].
  nlohmann::json cookies();

  // Main-frame document loads (reloads, link clicks, location changes) since the last
  // navigate() finished; history.pushState and #hash changes are not counted.
  int navigations_since_load() const;

  // console.error/console.assert messages and uncaught exceptions (including unhandled
  // rejections) seen since the Browser started, one line each.
  std::vector<std::string> console_errors() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace atelier::test
