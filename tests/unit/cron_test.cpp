// Cron parsing and next-fire computation (orchestrator/cron.h). Instants are built
// from explicit UTC dates, never from the wall clock, and results are compared as
// "YYYY-MM-DD HH:MM" UTC strings so a failure shows the time that came out.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include <date/date.h>

#include "orchestrator/cron.h"
#include "common/errors.h"

using namespace atelier;
using namespace date::literals;  // 2026_y, jan, ...
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

namespace {

int64_t utc_ms(date::year_month_day d, int h = 0, int m = 0, int64_t extra_ms = 0) {
  auto t = date::sys_days{d} + hours{h} + minutes{m} + milliseconds{extra_ms};
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

std::string utc(std::optional<int64_t> ms) {
  if (!ms) return "none";
  return date::format("%F %R", date::sys_time<milliseconds>{milliseconds{*ms}});
}

std::string next(const char* expr, const char* tz, int64_t after_ms) {
  return utc(next_fire_ms(parse_cron(expr), tz, after_ms));
}

// The next `n` fires after `after_ms`, each search starting at the previous fire.
std::vector<std::string> fires(const char* expr, const char* tz, int64_t after_ms, int n) {
  CronSchedule s = parse_cron(expr);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::optional<int64_t> t = next_fire_ms(s, tz, after_ms);
    out.push_back(utc(t));
    if (!t) break;
    after_ms = *t;
  }
  return out;
}

std::string parse_error(const char* expr) {
  try {
    parse_cron(expr);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

template <size_t N>
std::vector<int> bits(const std::bitset<N>& b) {
  std::vector<int> out;
  for (size_t i = 0; i < N; ++i) {
    if (b[i]) out.push_back(static_cast<int>(i));
  }
  return out;
}

using V = std::vector<int>;
using S = std::vector<std::string>;

}  // namespace

// ---- parsing ----

TEST(CronParse, StarSelectsTheWholeField) {
  CronSchedule s = parse_cron("* * * * *");
  EXPECT_EQ(s.minutes.count(), 60u);
  EXPECT_EQ(s.hours.count(), 24u);
  EXPECT_EQ(bits(s.days_of_month).front(), 1);
  EXPECT_EQ(s.days_of_month.count(), 31u);
  EXPECT_EQ(s.months.count(), 12u);
  EXPECT_FALSE(s.months[0]);
  EXPECT_EQ(s.days_of_week.count(), 7u);
  EXPECT_TRUE(s.day_of_month_star);
  EXPECT_TRUE(s.day_of_week_star);
  EXPECT_EQ(s.text, "* * * * *");
}

TEST(CronParse, NumbersListsRangesAndSteps) {
  EXPECT_EQ(bits(parse_cron("7 * * * *").minutes), (V{7}));
  EXPECT_EQ(bits(parse_cron("1,5,9 * * * *").minutes), (V{1, 5, 9}));
  EXPECT_EQ(bits(parse_cron("1-5 * * * *").minutes), (V{1, 2, 3, 4, 5}));
  EXPECT_EQ(bits(parse_cron("*/15 * * * *").minutes), (V{0, 15, 30, 45}));
  EXPECT_EQ(bits(parse_cron("1-30/5 * * * *").minutes), (V{1, 6, 11, 16, 21, 26}));
  EXPECT_EQ(bits(parse_cron("5/15 * * * *").minutes), (V{5, 20, 35, 50}));
  EXPECT_EQ(bits(parse_cron("0 */6 * * *").hours), (V{0, 6, 12, 18}));
  EXPECT_EQ(bits(parse_cron("0 0 */10 * *").days_of_month), (V{1, 11, 21, 31}));
  EXPECT_EQ(bits(parse_cron("0 0 1 */3 *").months), (V{1, 4, 7, 10}));
  EXPECT_EQ(bits(parse_cron("0,30 8-10,20 * * *").hours), (V{8, 9, 10, 20}));
  EXPECT_EQ(bits(parse_cron("59 23 31 12 6").minutes), (V{59}));
}

TEST(CronParse, BlanksAroundAndBetweenFieldsAreIgnored) {
  CronSchedule s = parse_cron("  0\t9  * *  1-5 \n");
  EXPECT_EQ(bits(s.minutes), (V{0}));
  EXPECT_EQ(bits(s.hours), (V{9}));
  EXPECT_EQ(bits(s.days_of_week), (V{1, 2, 3, 4, 5}));
}

TEST(CronParse, MonthAndDayNamesAnyCase) {
  EXPECT_EQ(bits(parse_cron("0 0 1 jan,JUL,Dec *").months), (V{1, 7, 12}));
  EXPECT_EQ(bits(parse_cron("0 0 1 mar-may *").months), (V{3, 4, 5}));
  EXPECT_EQ(bits(parse_cron("0 0 1 feb/4 *").months), (V{2, 6, 10}));
  EXPECT_EQ(bits(parse_cron("0 9 * * mon-fri").days_of_week), (V{1, 2, 3, 4, 5}));
  EXPECT_EQ(bits(parse_cron("0 9 * * SUN,Sat").days_of_week), (V{0, 6}));
  EXPECT_EQ(bits(parse_cron("0 9 * * mon-5").days_of_week), (V{1, 2, 3, 4, 5}));
}

TEST(CronParse, SevenIsSunday) {
  EXPECT_EQ(bits(parse_cron("0 0 * * 7").days_of_week), (V{0}));
  EXPECT_EQ(bits(parse_cron("0 0 * * 5-7").days_of_week), (V{0, 5, 6}));
  EXPECT_EQ(bits(parse_cron("0 0 * * fri-7").days_of_week), (V{0, 5, 6}));
  EXPECT_EQ(parse_cron("0 0 * * 0-7").days_of_week.count(), 7u);
  EXPECT_EQ(bits(parse_cron("0 0 * * */7").days_of_week), (V{0}));
  EXPECT_EQ(bits(parse_cron("0 0 * * */2").days_of_week), (V{0, 2, 4, 6}));
}

TEST(CronParse, OnlyALiteralStarLeavesADayFieldUnrestricted) {
  CronSchedule s = parse_cron("0 0 */2 * 0-7");
  EXPECT_FALSE(s.day_of_month_star);
  EXPECT_FALSE(s.day_of_week_star);
  CronSchedule t = parse_cron("0 0 1 * *");
  EXPECT_FALSE(t.day_of_month_star);
  EXPECT_TRUE(t.day_of_week_star);
}

TEST(CronParse, Macros) {
  struct Case {
    const char* macro;
    const char* same_as;
  };
  for (Case c :
       {Case{"@hourly", "0 * * * *"}, Case{"@daily", "0 0 * * *"}, Case{"@midnight", "0 0 * * *"},
        Case{"@weekly", "0 0 * * 0"}, Case{"@monthly", "0 0 1 * *"}, Case{"@yearly", "0 0 1 1 *"},
        Case{"@annually", "0 0 1 1 *"}, Case{" @DAILY ", "0 0 * * *"}}) {
    SCOPED_TRACE(c.macro);
    CronSchedule m = parse_cron(c.macro);
    CronSchedule f = parse_cron(c.same_as);
    EXPECT_EQ(m.minutes, f.minutes);
    EXPECT_EQ(m.hours, f.hours);
    EXPECT_EQ(m.days_of_month, f.days_of_month);
    EXPECT_EQ(m.months, f.months);
    EXPECT_EQ(m.days_of_week, f.days_of_week);
    EXPECT_EQ(m.day_of_month_star, f.day_of_month_star);
    EXPECT_EQ(m.day_of_week_star, f.day_of_week_star);
    EXPECT_EQ(m.text, c.macro);
  }
}

// ---- parse errors ----

TEST(CronParseErrors, OutOfRangeNamesFieldAndToken) {
  EXPECT_EQ(parse_error("61 * * * *"), "cron \"61 * * * *\": minute: 61 is out of range 0-59");
  EXPECT_EQ(parse_error("0 24 * * *"), "cron \"0 24 * * *\": hour: 24 is out of range 0-23");
  EXPECT_EQ(parse_error("0 0 0 * *"), "cron \"0 0 0 * *\": day-of-month: 0 is out of range 1-31");
  EXPECT_EQ(parse_error("0 0 32 * *"),
            "cron \"0 0 32 * *\": day-of-month: 32 is out of range 1-31");
  EXPECT_EQ(parse_error("0 0 * 13 *"), "cron \"0 0 * 13 *\": month: 13 is out of range 1-12");
  EXPECT_EQ(parse_error("0 0 * * 8"), "cron \"0 0 * * 8\": day-of-week: 8 is out of range 0-7");
  EXPECT_EQ(parse_error("1-60 * * * *"), "cron \"1-60 * * * *\": minute: 60 is out of range 0-59");
  EXPECT_EQ(parse_error("99999999999 * * * *"),
            "cron \"99999999999 * * * *\": minute: 99999999999 is out of range 0-59");
}

TEST(CronParseErrors, BadSteps) {
  EXPECT_EQ(parse_error("*/0 * * * *"),
            "cron \"*/0 * * * *\": minute: step 0 in \"*/0\" is out of range 1-59");
  EXPECT_EQ(parse_error("*/60 * * * *"),
            "cron \"*/60 * * * *\": minute: step 60 in \"*/60\" is out of range 1-59");
  EXPECT_EQ(parse_error("0 0 * */12 *"),
            "cron \"0 0 * */12 *\": month: step 12 in \"*/12\" is out of range 1-11");
  EXPECT_EQ(parse_error("*/x * * * *"),
            "cron \"*/x * * * *\": minute: step \"x\" in \"*/x\" is not a number");
  EXPECT_EQ(parse_error("*/ * * * *"),
            "cron \"*/ * * * *\": minute: step \"\" in \"*/\" is not a number");
  EXPECT_EQ(parse_error("1/2/3 * * * *"),
            "cron \"1/2/3 * * * *\": minute: step \"2/3\" in \"1/2/3\" is not a number");
}

TEST(CronParseErrors, ReversedRanges) {
  EXPECT_EQ(parse_error("5-1 * * * *"),
            "cron \"5-1 * * * *\": minute: range \"5-1\" runs backwards (5 > 1)");
  EXPECT_EQ(parse_error("0 0 * * fri-mon"),
            "cron \"0 0 * * fri-mon\": day-of-week: range \"fri-mon\" runs backwards (5 > 1)");
}

TEST(CronParseErrors, WrongFieldCountAndEmpty) {
  EXPECT_EQ(parse_error("* * * *"),
            "cron \"* * * *\": expected 5 fields (minute hour day-of-month month day-of-week), "
            "got 4");
  EXPECT_EQ(parse_error("0 * * * * *"),
            "cron \"0 * * * * *\": expected 5 fields (minute hour day-of-month month "
            "day-of-week), got 6");
  EXPECT_EQ(parse_error(""), "cron \"\": empty expression");
  EXPECT_EQ(parse_error("   "), "cron \"   \": empty expression");
}

TEST(CronParseErrors, GarbageAndUnknownNames) {
  EXPECT_EQ(parse_error("x * * * *"), "cron \"x * * * *\": minute: \"x\" is not a number");
  EXPECT_EQ(parse_error("mon * * * *"), "cron \"mon * * * *\": minute: \"mon\" is not a number");
  EXPECT_EQ(parse_error("-5 * * * *"), "cron \"-5 * * * *\": minute: missing value in \"-5\"");
  EXPECT_EQ(parse_error("1,,2 * * * *"),
            "cron \"1,,2 * * * *\": minute: empty list item in \"1,,2\"");
  EXPECT_EQ(parse_error("0 0 ? * *"), "cron \"0 0 ? * *\": day-of-month: \"?\" is not a number");
  EXPECT_EQ(parse_error("0 0 1 foo *"),
            "cron \"0 0 1 foo *\": month: \"foo\" is not a number or month name (jan-dec)");
  EXPECT_EQ(parse_error("0 0 * * mon-fry"),
            "cron \"0 0 * * mon-fry\": day-of-week: \"fry\" is not a number or day name "
            "(sun-sat)");
  EXPECT_EQ(parse_error("0 0 * * monday"),
            "cron \"0 0 * * monday\": day-of-week: \"monday\" is not a number or day name "
            "(sun-sat)");
  EXPECT_EQ(parse_error("0 0 * jan-sun *"),
            "cron \"0 0 * jan-sun *\": month: \"sun\" is not a number or month name (jan-dec)");
}

TEST(CronParseErrors, Macros) {
  EXPECT_EQ(parse_error("@often"),
            "cron \"@often\": unknown macro @often (known: @hourly, @daily, @midnight, @weekly, "
            "@monthly, @yearly, @annually)");
  EXPECT_EQ(parse_error("@daily 0"), "cron \"@daily 0\": macro @daily takes no other fields");
}

TEST(CronParseErrors, AreInputErrors) {
  EXPECT_THROW(parse_cron("61 * * * *"), InputError);
}

// ---- next fire, UTC ----

TEST(CronNextUtc, Every15MinutesIsStrictlyAfter) {
  EXPECT_EQ(next("*/15 * * * *", "UTC", utc_ms(2026_y / jan / 1)), "2026-01-01 00:15");
  EXPECT_EQ(next("*/15 * * * *", "UTC", utc_ms(2026_y / jan / 1, 0, 0, -1)), "2026-01-01 00:00");
  EXPECT_EQ(next("*/15 * * * *", "UTC", utc_ms(2026_y / jan / 1, 0, 7, 30500)), "2026-01-01 00:15");
  EXPECT_EQ(next("*/15 * * * *", "UTC", utc_ms(2026_y / dec / 31, 23, 50)), "2027-01-01 00:00");
  std::optional<int64_t> t =
      next_fire_ms(parse_cron("*/15 * * * *"), "UTC", utc_ms(2026_y / jan / 1, 0, 7, 30500));
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, utc_ms(2026_y / jan / 1, 0, 15));
}

TEST(CronNextUtc, WeekdaysAtNine) {
  // 2026-01-02 is a Friday.
  EXPECT_EQ(fires("0 9 * * mon-fri", "UTC", utc_ms(2026_y / jan / 2, 8, 59), 3),
            (S{"2026-01-02 09:00", "2026-01-05 09:00", "2026-01-06 09:00"}));
  EXPECT_EQ(next("0 9 * * 1-5", "Etc/UTC", utc_ms(2026_y / jan / 2, 9)), "2026-01-05 09:00");
}

TEST(CronNextUtc, FirstOfMonth) {
  EXPECT_EQ(fires("0 0 1 * *", "UTC", utc_ms(2026_y / jan / 15), 3),
            (S{"2026-02-01 00:00", "2026-03-01 00:00", "2026-04-01 00:00"}));
  EXPECT_EQ(next("@yearly", "UTC", utc_ms(2026_y / jan / 1)), "2027-01-01 00:00");
  EXPECT_EQ(next("30 12 1 jun,dec *", "UTC", utc_ms(2026_y / jun / 1, 12, 30)), "2026-12-01 12:30");
}

TEST(CronNextUtc, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // Fridays, and the 13th (a Tuesday in January 2026).
  EXPECT_EQ(fires("0 0 13 * fri", "UTC", utc_ms(2026_y / jan / 1), 4),
            (S{"2026-01-02 00:00", "2026-01-09 00:00", "2026-01-13 00:00", "2026-01-16 00:00"}));
  // A '*' on either side leaves only the other.
  EXPECT_EQ(fires("0 0 13 * *", "UTC", utc_ms(2026_y / jan / 1), 2),
            (S{"2026-01-13 00:00", "2026-02-13 00:00"}));
  EXPECT_EQ(fires("0 0 * * fri", "UTC", utc_ms(2026_y / jan / 1), 2),
            (S{"2026-01-02 00:00", "2026-01-09 00:00"}));
  // A step counts as a restriction: days 1, 11, 21, 31 or Mondays (Jan 5, 12).
  EXPECT_EQ(fires("0 0 */10 * mon", "UTC", utc_ms(2026_y / jan / 1), 4),
            (S{"2026-01-05 00:00", "2026-01-11 00:00", "2026-01-12 00:00", "2026-01-19 00:00"}));
}

TEST(CronNextUtc, LeapDayAndImpossibleDates) {
  EXPECT_EQ(next("0 0 29 2 *", "UTC", utc_ms(2024_y / mar / 1)), "2028-02-29 00:00");
  EXPECT_EQ(next("0 0 29 feb *", "UTC", utc_ms(2096_y / mar / 1)), "none");  // 2100 is no leap year
  EXPECT_EQ(next("0 0 30 2 *", "UTC", utc_ms(2026_y / jan / 1)), "none");
  EXPECT_EQ(next("0 0 31 4,6,9,11 *", "UTC", utc_ms(2026_y / jan / 1)), "none");
  EXPECT_EQ(next("0 0 31 * *", "UTC", utc_ms(2026_y / apr / 1)), "2026-05-31 00:00");
}

TEST(CronNextUtc, ManyCallsAreCheap) {
  CronSchedule never = parse_cron("0 0 30 2 *");
  CronSchedule often = parse_cron("* * * * *");
  int64_t t = utc_ms(2026_y / jan / 1);
  for (int i = 0; i < 2000; ++i) {
    EXPECT_FALSE(next_fire_ms(never, "Europe/Berlin", t + i * 3600000LL));
    std::optional<int64_t> n = next_fire_ms(often, "Europe/Berlin", t + i * 1000LL);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, t + (i * 1000LL / 60000 + 1) * 60000);
  }
}

TEST(CronNextUtc, OutOfRangeInstantIsAnInputError) {
  CronSchedule s = parse_cron("* * * * *");
  EXPECT_THROW(next_fire_ms(s, "UTC", INT64_MAX), InputError);
  EXPECT_THROW(next_fire_ms(s, "UTC", INT64_MIN), InputError);
}

// ---- time zones ----

TEST(CronZones, UnknownZone) {
  try {
    check_time_zone("Mars/Base");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "unknown time zone \"Mars/Base\"");
  }
  EXPECT_THROW(check_time_zone(""), InputError);
  EXPECT_THROW(check_time_zone("europe/berlin"), InputError);
  EXPECT_THROW(next_fire_ms(parse_cron("* * * * *"), "Mars/Base", 0), InputError);
  EXPECT_NO_THROW(check_time_zone("Europe/Berlin"));
  EXPECT_NO_THROW(check_time_zone("UTC"));
  EXPECT_NO_THROW(check_time_zone("America/New_York"));
}

TEST(CronZones, OrdinaryDaysUseTheLocalOffset) {
  EXPECT_EQ(next("0 9 * * *", "Europe/Berlin", utc_ms(2026_y / jan / 10)), "2026-01-10 08:00");
  EXPECT_EQ(next("0 9 * * *", "Europe/Berlin", utc_ms(2026_y / jun / 10)), "2026-06-10 07:00");
  EXPECT_EQ(next("0 9 * * *", "America/New_York", utc_ms(2026_y / jan / 10)), "2026-01-10 14:00");
  EXPECT_EQ(next("0 9 * * *", "America/New_York", utc_ms(2026_y / jun / 10)), "2026-06-10 13:00");
}

// Berlin springs forward on 2026-03-29 at 01:00 UTC: 02:00 CET becomes 03:00 CEST.
TEST(CronZones, BerlinGapFiresAtTheEndOfTheGap) {
  EXPECT_EQ(fires("30 2 * * *", "Europe/Berlin", utc_ms(2026_y / mar / 28, 12), 2),
            (S{"2026-03-29 01:00", "2026-03-30 00:30"}));
  // Four matches inside the gap: one fire.
  EXPECT_EQ(fires("*/15 2 * * *", "Europe/Berlin", utc_ms(2026_y / mar / 29), 2),
            (S{"2026-03-29 01:00", "2026-03-30 00:00"}));
  // 03:00 CEST is the transition instant too, so it shares the gap's fire.
  EXPECT_EQ(fires("0,30 2,3 * * *", "Europe/Berlin", utc_ms(2026_y / mar / 29), 3),
            (S{"2026-03-29 01:00", "2026-03-29 01:30", "2026-03-30 00:00"}));
  // Asked from inside the day, before and after the gap.
  EXPECT_EQ(next("30 2 * * *", "Europe/Berlin", utc_ms(2026_y / mar / 29, 0, 59)),
            "2026-03-29 01:00");
  EXPECT_EQ(next("30 2 * * *", "Europe/Berlin", utc_ms(2026_y / mar / 29, 1)), "2026-03-30 00:30");
  EXPECT_EQ(next("0 1 * * *", "Europe/Berlin", utc_ms(2026_y / mar / 28, 12)), "2026-03-29 00:00");
}

// Berlin falls back on 2026-10-25 at 01:00 UTC: 03:00 CEST becomes 02:00 CET, so
// 02:00-02:59 happens at 00:00-00:59 UTC and again at 01:00-01:59 UTC.
TEST(CronZones, BerlinOverlapFiresOnceAtTheFirstOccurrence) {
  EXPECT_EQ(fires("30 2 * * *", "Europe/Berlin", utc_ms(2026_y / oct / 24, 12), 2),
            (S{"2026-10-25 00:30", "2026-10-26 01:30"}));
  // Asked during the repeated hour: that day's 02:30 has already fired.
  EXPECT_EQ(next("30 2 * * *", "Europe/Berlin", utc_ms(2026_y / oct / 25, 1, 10)),
            "2026-10-26 01:30");
  EXPECT_EQ(next("30 2 * * *", "Europe/Berlin", utc_ms(2026_y / oct / 25, 0, 29)),
            "2026-10-25 00:30");
  EXPECT_EQ(fires("*/30 * * * *", "Europe/Berlin", utc_ms(2026_y / oct / 24, 23, 45), 4),
            (S{"2026-10-25 00:00", "2026-10-25 00:30", "2026-10-25 02:00", "2026-10-25 02:30"}));
  EXPECT_EQ(next("*/30 * * * *", "Europe/Berlin", utc_ms(2026_y / oct / 25, 1, 15)),
            "2026-10-25 02:00");
}

// New York springs forward on 2026-03-08 at 07:00 UTC (02:00 EST -> 03:00 EDT) and
// falls back on 2026-11-01 at 06:00 UTC (02:00 EDT -> 01:00 EST).
TEST(CronZones, NewYorkGapAndOverlap) {
  EXPECT_EQ(fires("30 2 * * *", "America/New_York", utc_ms(2026_y / mar / 7, 12), 2),
            (S{"2026-03-08 07:00", "2026-03-09 06:30"}));
  EXPECT_EQ(fires("30 1 * * *", "America/New_York", utc_ms(2026_y / oct / 31, 12), 2),
            (S{"2026-11-01 05:30", "2026-11-02 06:30"}));
  // Hourly: 01:00 EDT fires, the repeated 01:00 EST does not, then 02:00 EST.
  EXPECT_EQ(fires("0 * * * *", "America/New_York", utc_ms(2026_y / nov / 1, 4, 30), 3),
            (S{"2026-11-01 05:00", "2026-11-01 07:00", "2026-11-01 08:00"}));
}

// Lord Howe Island shifts by 30 minutes: +10:30 standard, +11 summer. Summer ends
// 2026-04-05 02:00 local (15:00 UTC on the 4th, 01:30-01:59 repeats) and starts
// 2026-10-04 02:00 local (15:30 UTC on the 3rd, 02:00-02:29 does not exist).
TEST(CronZones, LordHoweHalfHourShift) {
  EXPECT_EQ(fires("15 2 * * *", "Australia/Lord_Howe", utc_ms(2026_y / oct / 3, 12), 2),
            (S{"2026-10-03 15:30", "2026-10-04 15:15"}));
  // 02:00, 02:10, 02:20 are in the gap and 02:30 is its end: one fire for all four.
  EXPECT_EQ(fires("*/10 2 * * *", "Australia/Lord_Howe", utc_ms(2026_y / oct / 3, 15), 4),
            (S{"2026-10-03 15:30", "2026-10-03 15:40", "2026-10-03 15:50", "2026-10-04 15:00"}));
  EXPECT_EQ(fires("45 1 * * *", "Australia/Lord_Howe", utc_ms(2026_y / apr / 4, 12), 2),
            (S{"2026-04-04 14:45", "2026-04-05 15:15"}));
  EXPECT_EQ(fires("*/15 * * * *", "Australia/Lord_Howe", utc_ms(2026_y / apr / 4, 14, 40), 2),
            (S{"2026-04-04 14:45", "2026-04-04 15:30"}));
}

TEST(CronZones, KolkataHalfHourOffsetWithoutDst) {
  EXPECT_EQ(next("0 9 * * *", "Asia/Kolkata", utc_ms(2026_y / jun / 1)), "2026-06-01 03:30");
  // Local midnight-thirty is the previous UTC day.
  EXPECT_EQ(next("30 0 * * *", "Asia/Kolkata", utc_ms(2026_y / jun / 1)), "2026-06-01 19:00");
  EXPECT_EQ(next("0 0 1 jan *", "Asia/Kolkata", utc_ms(2026_y / jun / 1)), "2026-12-31 18:30");
}

// Every half hour through a whole Berlin year, one call per fire: 48 a day, except
// that on the spring-forward day 02:00, 02:30 and 03:00 share one instant; the
// fall-back day still has 48 (no repeats). Instants strictly increase, whole minutes.
TEST(CronZones, BerlinYearOfHalfHours) {
  CronSchedule s = parse_cron("*/30 * * * *");
  int64_t after = utc_ms(2025_y / dec / 31, 23, 0, -1);  // just before local New Year
  const int64_t end = utc_ms(2026_y / dec / 31, 23, 0);  // local New Year 2027
  int count = 0;
  while (true) {
    std::optional<int64_t> t = next_fire_ms(s, "Europe/Berlin", after);
    ASSERT_TRUE(t);
    ASSERT_GT(*t, after);
    ASSERT_EQ(*t % 60000, 0);
    if (*t >= end) break;
    ++count;
    after = *t;
  }
  EXPECT_EQ(count, 365 * 48 - 2);
}

TEST(CronZones, FormatInZoneShowsTheWallClockAndAbbreviation) {
  EXPECT_EQ(format_in_zone(utc_ms(2026_y / dec / 4, 1, 0), "Europe/Berlin"),
            "2026-12-04 02:00 CET");
  EXPECT_EQ(format_in_zone(utc_ms(2026_y / jul / 4, 0, 30), "Europe/Berlin"),
            "2026-07-04 02:30 CEST");
  EXPECT_EQ(format_in_zone(utc_ms(2026_y / jul / 4, 0, 30), "UTC"), "2026-07-04 00:30 UTC");
  EXPECT_THROW(format_in_zone(0, "Mars/Base"), InputError);
}
