// Licence classes and ranking; see licence_rank.h.
#include "orchestrator/licence_rank.h"

#include <fnmatch.h>

#include <stdexcept>

namespace atelier {

std::vector<LicenceClass> LicenceRanking::default_classes() {
  return {
      {"restricted",
       {"proprietary", "all rights reserved", "all-rights-reserved", "LicenseRef-*", "unknown",
        "none"}},
      {"non-commercial",
       {"CC-BY-NC*", "CC-BY-ND*", "*-NC-*", "*-ND-*", "*NonCommercial*", "*NoDerivatives*",
        "*NoDerivs*"}},
      {"share-alike", {"CC-BY-SA*", "GPL*", "LGPL*", "AGPL*", "MPL*", "EPL*", "ODbL*", "CC-SA*"}},
      {"attribution",
       {"CC-BY*", "Apache-*", "MIT", "MIT-*", "BSD-*", "ISC", "Zlib", "OFL*", "Artistic-*",
        "ODC-By*", "Unicode-*"}},
      {"public-domain",
       {"CC0*", "CC-PDDC", "PDDL*", "Unlicense", "public domain", "public-domain", "0BSD",
        "WTFPL"}},
  };
}

namespace {

std::string trimmed(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

bool matches(const LicenceClass& c, const std::string& text) {
  for (const std::string& p : c.patterns)
    if (::fnmatch(p.c_str(), text.c_str(), FNM_CASEFOLD) == 0) return true;
  return false;
}

}  // namespace

size_t LicenceRanking::rank(std::string_view licence) const {
  const std::string whole = trimmed(licence);
  const std::string first = whole.substr(0, whole.find_first_of(" \t\r\n"));
  // Most restrictive first, so "CC-BY-NC-4.0" is non-commercial before the
  // attribution class's "CC-BY*" could claim it.
  for (size_t i = 0; i < classes.size(); ++i)
    if (matches(classes[i], whole) || matches(classes[i], first)) return i;
  return 0;
}

const std::string& LicenceRanking::class_name(std::string_view licence) const {
  static const std::string none = "restricted";
  return classes.empty() ? none : classes[rank(licence)].name;
}

size_t LicenceRanking::accept_rank() const {
  for (size_t i = 0; i < classes.size(); ++i)
    if (classes[i].name == accept) return i;
  throw std::invalid_argument("licences.accept: '" + accept + "' is not one of the classes");
}

std::string most_restrictive(const LicenceRanking& r, const std::vector<std::string>& licences) {
  std::string worst;
  size_t worst_rank = SIZE_MAX;
  for (const std::string& l : licences)
    if (const size_t k = r.rank(l); k < worst_rank) {
      worst_rank = k;
      worst = l;
    }
  return worst;
}

}  // namespace atelier
