// The `sleep` kind's parameters: the test and chaos-drill kind (DESIGN.md s.4).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kinds/kind_decl.h"

namespace atelier {

struct SleepParams {
  int64_t ms = 0;
  int64_t fail_times = 0;
  int64_t crash_times = 0;
  bool output = false;
  bool ignore_cancel = false;
  nlohmann::json files = nullptr;
  std::optional<std::string> label;
};

const KindDecl<SleepParams>& sleep_kind();

}  // namespace atelier
