// Live progress for `atelier run`: on a terminal one line redrawn in place
// (a bar and counts by state); otherwise a plain line each time counts change.
#pragma once
#include <string>

#include "orchestrator/store.h"

namespace atelier::cli {

class ProgressView {
 public:
  explicit ProgressView(bool tty) : tty_(tty) {}
  void update(const RunRow& run, const std::vector<StateCount>& counts);
  void finish();

 private:
  bool tty_;
  std::string last_;
};

}  // namespace atelier::cli
