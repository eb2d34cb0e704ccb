// Cron parsing and next-fire computation; the semantics are documented in cron.h.
//
// next_fire_ms walks candidate local (wall-clock) times of the zone in increasing
// order, skipping whole months and days with the bitsets, and maps each candidate to
// an instant. That mapping (gap -> transition instant, overlap -> first occurrence)
// never decreases as the local time grows, so the first candidate whose instant lies
// after `after_ms` is the earliest fire, and no local time before the local reading
// of `after_ms` can be one.
//
// Offsets come from the system zone files through date/tz built with USE_OS_TZDB. That
// library reads only the stored transitions, not the rule string at the end of the
// file, so after the last stored transition (2037 in Debian's tzdata) a zone keeps the
// offset it had then.
#include "orchestrator/cron.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <vector>

#include <date/date.h>
#include <date/tz.h>

#include "common/errors.h"

namespace atelier {
namespace {

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed",
                                                       "thu", "fri", "sat"};

// Covers any five calendar years, leap days included.
constexpr int kHorizonDays = 5 * 365 + 2;

struct FieldSpec {
  std::string_view name;
  int min;
  int max;
  const std::string_view* names;  // names[i] stands for the value names_base + i
  int name_count;
  int names_base;
  std::string_view names_hint;  // for the "not a number" message
};

const FieldSpec kFields[5] = {
    {"minute", 0, 59, nullptr, 0, 0, ""},
    {"hour", 0, 23, nullptr, 0, 0, ""},
    {"day-of-month", 1, 31, nullptr, 0, 0, ""},
    {"month", 1, 12, kMonthNames.data(), 12, 1, " or month name (jan-dec)"},
    // 7 is accepted as a second Sunday and folded onto 0 when the bits are set.
    {"day-of-week", 0, 7, kDayNames.data(), 7, 0, " or day name (sun-sat)"},
};

struct Macro {
  std::string_view name;
  std::string_view fields;
};

constexpr std::array<Macro, 7> kMacros = {{
    {"@hourly", "0 * * * *"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},
    {"@monthly", "0 0 1 * *"},
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
}};

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Any ASCII blank separates fields, so a trailing newline from a YAML block scalar
// is harmless.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::vector<std::string_view> split_fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// Digits only: signs, spaces and hex are garbage in cron. Returns nullopt when the
// text is not a plain number. A very long number saturates instead of overflowing,
// so it is still reported as out of range (with its own text) rather than as garbage.
std::optional<int> parse_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    if (v < 1000000) v = v * 10 + (c - '0');
  }
  return v;
}

class FieldParser {
 public:
  FieldParser(std::string_view expr, const FieldSpec& spec) : expr_(expr), spec_(spec) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError("cron " + quoted(expr_) + ": " + std::string(spec_.name) + ": " + what);
  }

  // Returns the values the field selects, as a mask over 0..63.
  uint64_t parse(std::string_view field) const {
    uint64_t bits = 0;
    size_t start = 0;
    while (true) {
      size_t comma = field.find(',', start);
      std::string_view item = field.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (item.empty()) fail("empty list item in " + quoted(field));
      bits |= parse_item(item);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    return bits;
  }

 private:
  int value(std::string_view token, std::string_view item) const {
    if (token.empty()) fail("missing value in " + quoted(item));
    if (std::optional<int> n = parse_number(token)) {
      if (*n < spec_.min || *n > spec_.max) {
        fail(std::string(token) + " is out of range " + std::to_string(spec_.min) + "-" +
             std::to_string(spec_.max));
      }
      return *n;
    }
    std::string low = lower(token);
    for (int i = 0; i < spec_.name_count; ++i) {
      if (low == spec_.names[i]) return spec_.names_base + i;
    }
    fail(quoted(token) + " is not a number" + std::string(spec_.names_hint));
  }

  uint64_t parse_item(std::string_view item) const {
    std::string_view base = item;
    int step = 1;
    bool has_step = false;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      std::string_view step_text = item.substr(slash + 1);
      std::optional<int> n = parse_number(step_text);
      if (!n) fail("step " + quoted(step_text) + " in " + quoted(item) + " is not a number");
      int span = spec_.max - spec_.min;
      if (*n < 1 || *n > span) {
        fail("step " + std::string(step_text) + " in " + quoted(item) + " is out of range 1-" +
             std::to_string(span));
      }
      step = *n;
      has_step = true;
    }
    int lo = 0;
    int hi = 0;
    if (base == "*") {
      lo = spec_.min;
      hi = spec_.max;
    } else if (size_t dash = base.find('-'); dash != std::string_view::npos) {
      lo = value(base.substr(0, dash), item);
      hi = value(base.substr(dash + 1), item);
      if (lo > hi) {
        fail("range " + quoted(base) + " runs backwards (" + std::to_string(lo) + " > " +
             std::to_string(hi) + ")");
      }
    } else {
      lo = value(base, item);
      hi = has_step ? spec_.max : lo;
    }
    uint64_t bits = 0;
    for (int v = lo; v <= hi; v += step) bits |= uint64_t{1} << v;
    return bits;
  }

  std::string_view expr_;
  const FieldSpec& spec_;
};

CronSchedule parse_fields(std::string_view expr, const std::vector<std::string_view>& fields) {
  uint64_t masks[5];
  for (int i = 0; i < 5; ++i) masks[i] = FieldParser(expr, kFields[i]).parse(fields[i]);
  CronSchedule s;
  s.minutes = std::bitset<60>(masks[0]);
  s.hours = std::bitset<24>(masks[1]);
  s.days_of_month = std::bitset<32>(masks[2]);
  s.months = std::bitset<13>(masks[3]);
  uint64_t dow = masks[4];
  if (dow & (uint64_t{1} << 7)) dow |= 1;  // 7 is Sunday
  s.days_of_week = std::bitset<7>(dow);
  s.day_of_month_star = fields[2] == "*";
  s.day_of_week_star = fields[4] == "*";
  s.text = std::string(expr);
  return s;
}

const date::time_zone* find_zone(const std::string& tz) {
  // A tz database that cannot be loaded at all is not the caller's input error, so
  // get_tzdb's own exception is left to propagate.
  date::get_tzdb();
  try {
    return date::locate_zone(tz);
  } catch (const std::exception&) {
    throw InputError("unknown time zone " + quoted(tz));
  }
}

bool day_matches(const CronSchedule& s, const date::year_month_day& ymd, date::weekday wd) {
  bool dom = s.days_of_month[static_cast<unsigned>(ymd.day())];
  bool dow = s.days_of_week[wd.c_encoding()];
  // A '*' field has every bit set, so "and" lets the other field decide alone.
  if (s.day_of_month_star || s.day_of_week_star) return dom && dow;
  return dom || dow;
}

// The instant a wall-clock time of the zone fires at; see cron.h for the DST rules.
date::sys_seconds fire_instant(const date::time_zone* zone, date::local_seconds lt) {
  const date::local_info info = zone->get_info(lt);
  if (info.result == date::local_info::nonexistent) return info.first.end;
  // unique: first is the only one; ambiguous: first is the earlier occurrence.
  return date::sys_seconds{lt.time_since_epoch() - info.first.offset};
}

}  // namespace

CronSchedule parse_cron(std::string_view expr) {
  std::vector<std::string_view> fields = split_fields(expr);
  if (fields.empty()) throw InputError("cron " + quoted(expr) + ": empty expression");
  if (fields[0].front() == '@') {
    if (fields.size() != 1) {
      throw InputError("cron " + quoted(expr) + ": macro " + std::string(fields[0]) +
                       " takes no other fields");
    }
    std::string name = lower(fields[0]);
    for (const Macro& m : kMacros) {
      if (name == m.name) {
        CronSchedule s = parse_fields(m.fields, split_fields(m.fields));
        s.text = std::string(expr);
        return s;
      }
    }
    std::string known;
    for (const Macro& m : kMacros) known += (known.empty() ? "" : ", ") + std::string(m.name);
    throw InputError("cron " + quoted(expr) + ": unknown macro " + std::string(fields[0]) +
                     " (known: " + known + ")");
  }
  if (fields.size() != 5) {
    throw InputError("cron " + quoted(expr) +
                     ": expected 5 fields (minute hour day-of-month month day-of-week), got " +
                     std::to_string(fields.size()));
  }
  return parse_fields(expr, fields);
}

void check_time_zone(const std::string& tz) {
  find_zone(tz);
}

std::optional<int64_t> next_fire_ms(const CronSchedule& s, const std::string& tz,
                                    int64_t after_ms) {
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::minutes;

  const date::time_zone* zone = find_zone(tz);
  const date::sys_time<milliseconds> after{milliseconds{after_ms}};
  // Keeps the calendar arithmetic and the zone lookups inside date's year range.
  if (after < date::sys_days{date::year{1} / 1 / 1} ||
      after >= date::sys_days{date::year{9991} / 1 / 1}) {
    throw InputError("cron " + quoted(s.text) + ": time " + std::to_string(after_ms) +
                     " ms is outside the years 1-9990");
  }

  const date::local_time<milliseconds> local_after = zone->to_local(after);
  date::local_days day = date::floor<date::days>(local_after);
  const date::local_days last_day = day + date::days{kHorizonDays};
  while (day <= last_day) {
    const date::year_month_day ymd{day};
    if (!s.months[static_cast<unsigned>(ymd.month())]) {
      day = date::local_days{(date::year_month{ymd.year(), ymd.month()} + date::months{1}) / 1};
      continue;
    }
    if (day_matches(s, ymd, date::weekday{day})) {
      for (int h = 0; h < 24; ++h) {
        if (!s.hours[h]) continue;
        const date::local_time<minutes> hour_start = day + hours{h};
        if (hour_start + minutes{59} <= local_after) continue;
        for (int m = 0; m < 60; ++m) {
          if (!s.minutes[m]) continue;
          const date::local_time<minutes> lt = hour_start + minutes{m};
          if (lt <= local_after) continue;
          // Not after `after` only inside a fall-back overlap: that local time already
          // fired (or would have) in its first occurrence, so keep looking.
          const date::sys_seconds fire = fire_instant(zone, lt);
          if (fire > after) {
            return std::chrono::duration_cast<milliseconds>(fire.time_since_epoch()).count();
          }
        }
      }
    }
    day += date::days{1};
  }
  return std::nullopt;
}

std::string format_in_zone(int64_t ms, const std::string& tz) {
  const date::time_zone* zone = find_zone(tz);
  const auto t = date::floor<std::chrono::minutes>(
      date::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{ms}});
  return date::format("%Y-%m-%d %H:%M %Z", date::make_zoned(zone, t));
}

}  // namespace atelier
