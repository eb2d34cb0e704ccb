#include "ids.h"

#include <charconv>

#include "common/errors.h"

namespace atelier {

TypedId parse_id(std::string_view text, const IdKind* bare) {
  std::string_view digits = text;
  IdKind kind{};
  bool prefixed = false;
  if (!text.empty() && (text[0] == 'r' || text[0] == 'j')) {
    kind = text[0] == 'r' ? IdKind::run : IdKind::job;
    digits = text.substr(1);
    prefixed = true;
  } else if (bare) {
    kind = *bare;
  }
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if ((!prefixed && !bare) || digits.empty() || ec != std::errc() ||
      ptr != digits.data() + digits.size() || value <= 0) {
    throw InputError("not a run or job id: '" + std::string(text) +
                     "' (expected r<number> for a run or j<number> for a job)");
  }
  return {kind, value};
}

int64_t parse_run_id(std::string_view text) {
  IdKind bare = IdKind::run;
  TypedId t = parse_id(text, &bare);
  if (t.kind != IdKind::run)
    throw InputError("expected a run id (r<number>), got '" + std::string(text) + "'");
  return t.id;
}

int64_t parse_job_id(std::string_view text) {
  IdKind bare = IdKind::job;
  TypedId t = parse_id(text, &bare);
  if (t.kind != IdKind::job)
    throw InputError("expected a job id (j<number>), got '" + std::string(text) + "'");
  return t.id;
}

}  // namespace atelier
