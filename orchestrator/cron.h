// Cron expressions for the scheduler (DESIGN.md section 4): parsing the 5-field
// syntax and computing the next fire instant in an IANA time zone. Pure logic: no
// clock, no store, no I/O beyond the read-only tz database.
//
// Invariants:
// - A CronSchedule is only ever built by parse_cron, so its bitsets hold only valid
//   values and every field has at least one bit set.
// - Day-of-week is kept as 0-6 (0 = Sunday); a 7 in the text is folded onto 0.
// - next_fire_ms returns an instant strictly after its argument, so chaining calls
//   (each from the previous fire) never fires twice at one instant. Matching is on
//   the zone's wall clock; the DST rules below map each local time to exactly one
//   instant and never reverse the order of local times, which is what lets the
//   search stop at the first match.
//
// Semantics:
// - Day rule (as in Vixie cron): when both day-of-month and day-of-week are
//   restricted, a day matches if EITHER does; when one of them is the literal "*",
//   only the other one decides. Only the literal "*" counts as unrestricted; "*/2" or
//   "0-6" are restrictions, even if they happen to match every day.
// - DST gap (spring forward): a matching local time that does not exist fires at the
//   first instant after the gap (the transition). Several matching local times in
//   one gap, and a match at the first local time after it, share that one fire.
// - DST overlap (fall back): a local time that happens twice fires once, at its
//   first occurrence; nothing fires in the repeated stretch that did not already
//   fire in the first one.
// - Names are the three-letter English ones (jan-dec, sun-sat), case-insensitive.
//   Ranges never wrap around ("fri-mon" is rejected).
// - A step over a single start value ("5/15") runs to the field's maximum. A step
//   must be between 1 and the field's span (59 for minutes, 23 hours, 30 days of
//   month, 11 months, 7 days of week), so "*/60" is an error rather than a silent
//   "once an hour".
#pragma once
#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace atelier {

struct CronSchedule {
  std::bitset<60> minutes;         // 0-59
  std::bitset<24> hours;           // 0-23
  std::bitset<32> days_of_month;   // 1-31; bit 0 unused
  std::bitset<13> months;          // 1-12; bit 0 unused
  std::bitset<7> days_of_week;     // 0-6, 0 = Sunday
  bool day_of_month_star = false;  // the field was the literal "*"
  bool day_of_week_star = false;
  std::string text;  // the expression as given (macros stay as written)
};

// Parses "minute hour day-of-month month day-of-week" or one of the macros @hourly,
// @daily, @midnight, @weekly, @monthly, @yearly, @annually. Fields take '*', numbers,
// lists (1,5,9), ranges (1-5), steps (*/15, 1-30/5, 5/15), month names and day
// names (also in ranges: mon-fri), and 7 as Sunday. Throws InputError naming the
// expression, the field and the bad token, e.g.
//   cron "61 * * * *": minute: 61 is out of range 0-59
CronSchedule parse_cron(std::string_view expr);

// Throws InputError `unknown time zone "Mars/Base"` when `tz` is not in the tz
// database. Names are case-sensitive, as in the database.
void check_time_zone(const std::string& tz);

// The first fire instant strictly after `after_ms` (Unix ms, UTC) with the schedule
// read on the wall clock of zone `tz`, as Unix ms. It is a whole minute (in UTC too,
// unless the zone's offset then had seconds, as Africa/Monrovia's did until 1972). nullopt
// when nothing matches within 5 years (1827 days) of `after_ms`, e.g. "0 0 30 2 *";
// "0 0 29 2 *" therefore finds nothing from March 2096 (2100 is not a leap year).
// Throws InputError for an unknown zone or an `after_ms` outside the years 1-9990.
std::optional<int64_t> next_fire_ms(const CronSchedule& s, const std::string& tz, int64_t after_ms);

// An instant as the zone's wall clock shows it, with the zone's abbreviation:
// "2026-12-04 02:00 CET". Throws InputError for an unknown zone.
std::string format_in_zone(int64_t ms, const std::string& tz);

}  // namespace atelier
