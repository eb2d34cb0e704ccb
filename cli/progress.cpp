#include "progress.h"

#include <iostream>

#include "orchestrator/ids.h"

namespace atelier::cli {

void ProgressView::update(const RunRow& run, const std::vector<StateCount>& counts) {
  int64_t total = 0, done = 0;
  std::string parts;
  for (const char* state :
       {"succeeded", "leased", "ready", "waiting", "dead", "cancelled", "skipped"}) {
    for (const StateCount& c : counts) {
      if (c.key != state) continue;
      parts += std::string(parts.empty() ? "" : "  ") + state + " " + std::to_string(c.count);
    }
  }
  for (const StateCount& c : counts) {
    total += c.count;
    if (c.key == "succeeded" || c.key == "dead" || c.key == "cancelled" || c.key == "skipped")
      done += c.count;
  }
  std::string line = run_ref(run.id) + " " + run.state + "  " + std::to_string(done) + "/" +
                     std::to_string(total) + "  " + parts;
  if (line == last_) return;
  last_ = line;
  if (tty_) {
    const int width = 24;
    const int filled = total > 0 ? static_cast<int>(width * done / total) : width;
    std::string bar = "[" + std::string(filled, '#') + std::string(width - filled, '-') + "]";
    std::cout << "\r\033[K" << bar << " " << line << std::flush;
  } else {
    std::cout << line << "\n" << std::flush;
  }
}

void ProgressView::finish() {
  if (tty_ && !last_.empty()) std::cout << "\n";
}

}  // namespace atelier::cli
