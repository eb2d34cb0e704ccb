#include <gtest/gtest.h>

#include "common/errors.h"
#include "orchestrator/ids.h"

using namespace atelier;

TEST(Ids, PrefixesTellRunsFromJobs) {
  EXPECT_EQ(run_ref(12), "r12");
  EXPECT_EQ(job_ref(345), "j345");
  TypedId r = parse_id("r12");
  EXPECT_EQ(r.kind, IdKind::run);
  EXPECT_EQ(r.id, 12);
  TypedId j = parse_id("j345");
  EXPECT_EQ(j.kind, IdKind::job);
  EXPECT_EQ(parse_job_id("7"), 7);
  EXPECT_EQ(parse_run_id("r7"), 7);
}

TEST(Ids, RejectsGarbageWithTheText) {
  EXPECT_THROW(parse_id("12"), InputError);  // ambiguous without a default
  EXPECT_THROW(parse_id("x12"), InputError);
  EXPECT_THROW(parse_id("r"), InputError);
  EXPECT_THROW(parse_id("r-3"), InputError);
  EXPECT_THROW(parse_run_id("j3"), InputError);
  try {
    parse_id("r1x");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("r1x"), std::string::npos);
  }
}
