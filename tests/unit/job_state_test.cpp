// The job state machine and backoff, as pure logic.
#include <gtest/gtest.h>

#include "orchestrator/job_state.h"

using namespace atelier;

TEST(JobState, TransitionsFollowTheDesign) {
  using S = JobState;
  EXPECT_TRUE(can_transition(S::waiting, S::ready));
  EXPECT_TRUE(can_transition(S::waiting, S::skipped));
  EXPECT_TRUE(can_transition(S::leased, S::skipped));  // a check gate left it no input
  EXPECT_TRUE(can_transition(S::ready, S::leased));
  EXPECT_TRUE(can_transition(S::leased, S::succeeded));
  EXPECT_TRUE(can_transition(S::leased, S::ready));
  EXPECT_TRUE(can_transition(S::leased, S::dead));
  EXPECT_TRUE(can_transition(S::leased, S::cancelled));
  EXPECT_TRUE(can_transition(S::waiting, S::cancelled));
  EXPECT_FALSE(can_transition(S::succeeded, S::cancelled));
  EXPECT_FALSE(can_transition(S::succeeded, S::ready));
  EXPECT_FALSE(can_transition(S::ready, S::succeeded));
  EXPECT_FALSE(can_transition(S::waiting, S::leased));
  EXPECT_TRUE(can_transition(S::dead, S::ready));  // retry
}

TEST(JobState, TerminalStates) {
  EXPECT_TRUE(is_terminal(JobState::succeeded));
  EXPECT_TRUE(is_terminal(JobState::dead));
  EXPECT_TRUE(is_terminal(JobState::cancelled));
  EXPECT_TRUE(is_terminal(JobState::skipped));
  EXPECT_FALSE(is_terminal(JobState::leased));
}

TEST(JobState, NamesRoundTrip) {
  for (auto s : {JobState::waiting, JobState::ready, JobState::leased, JobState::succeeded,
                 JobState::dead, JobState::cancelled, JobState::skipped}) {
    EXPECT_EQ(parse_job_state(to_string(s)), s);
  }
  EXPECT_FALSE(parse_job_state("running").has_value());
}

TEST(Backoff, DoublesUpToTheCapWithBoundedJitter) {
  RetryPolicy p{100, 1000, 0.2};
  EXPECT_EQ(backoff_ms(p, 1, 0.5), 100);
  EXPECT_EQ(backoff_ms(p, 2, 0.5), 200);
  EXPECT_EQ(backoff_ms(p, 3, 0.5), 400);
  EXPECT_EQ(backoff_ms(p, 5, 0.5), 1000);   // capped
  EXPECT_EQ(backoff_ms(p, 60, 0.5), 1000);  // no overflow
  EXPECT_EQ(backoff_ms(p, 1, 0.0), 80);     // -20 %
  EXPECT_EQ(backoff_ms(p, 1, 1.0), 120);    // +20 %
}

TEST(RunState, FinalStateFromCounts) {
  EXPECT_EQ(final_run_state(0, 0, 0), RunState::succeeded);
  EXPECT_EQ(final_run_state(1, 0, 3), RunState::failed);
  EXPECT_EQ(final_run_state(0, 2, 1), RunState::cancelled);
}
