// Licence classes: SPDX ids and common free text land in the documented class,
// anything unrecognised is the most restrictive, and of several licences for
// the same bytes the most restrictive one judges them.
#include "orchestrator/licence_rank.h"

#include <gtest/gtest.h>

#include <stdexcept>

using namespace atelier;

TEST(LicenceRank, KnownLicencesLandInTheirClass) {
  const LicenceRanking r;
  const std::pair<const char*, const char*> cases[] = {
      {"PROPRIETARY", "restricted"},
      {"All rights reserved", "restricted"},
      {"licensed to ACME only", "restricted"},
      {"", "restricted"},
      {"CC-BY-NC-4.0", "non-commercial"},
      {"CC-BY-NC-SA-4.0", "non-commercial"},
      {"CC-BY-ND-4.0", "non-commercial"},
      {"CC-BY-SA-4.0", "share-alike"},
      {"GPL-3.0-only", "share-alike"},
      {"CC-BY-4.0", "attribution"},
      {"cc-by-4.0", "attribution"},
      {"Apache-2.0", "attribution"},
      {"Apache-2.0 Noto Emoji graphics by Google", "attribution"},
      {"MIT", "attribution"},
      {"CC0-1.0", "public-domain"},
      {"Public Domain", "public-domain"},
  };
  for (const auto& [licence, cls] : cases) EXPECT_EQ(r.class_name(licence), cls) << licence;
  EXPECT_TRUE(r.accepted("CC-BY-SA-4.0")) << "share-alike is the default bar";
  EXPECT_FALSE(r.accepted("CC-BY-NC-4.0"));
  EXPECT_FALSE(r.accepted("PROPRIETARY"));
}

TEST(LicenceRank, TheMostRestrictiveOfSeveralJudges) {
  const LicenceRanking r;
  EXPECT_EQ(most_restrictive(r, {"CC0-1.0", "PROPRIETARY"}), "PROPRIETARY");
  EXPECT_EQ(most_restrictive(r, {"CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0"}), "CC-BY-SA-4.0");
}

TEST(LicenceRank, TheOrderAndTheBarAreConfigurable) {
  LicenceRanking r;
  r.classes = {{"unknown", {}}, {"ok", {"CC-BY-NC*"}}, {"open", {"CC0*"}}};
  r.accept = "ok";
  EXPECT_TRUE(r.accepted("CC-BY-NC-4.0"));
  EXPECT_FALSE(r.accepted("Apache-2.0")) << "not listed: the most restrictive class";
  r.accept = "nonsense";
  EXPECT_THROW(r.accept_rank(), std::invalid_argument);
}
