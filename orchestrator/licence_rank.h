// How restrictive a declared licence is, for the licence check: licences are
// sorted into classes, most restrictive first, and a check passes only when every
// input's most restrictive licence ranks at or above the accepted class.
// Defaults (docs/checks.md): restricted (unknown, proprietary, undeclared text
// that matches nothing), then non-commercial (NC or ND), then share-alike, then
// attribution, then public domain / CC0. The classes, their patterns and the
// bar are configurable in atelier.yaml's `licences:`.
// Invariant: text that matches no pattern ranks as the most restrictive class.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace atelier {

struct LicenceClass {
  std::string name;
  // Case-insensitive globs (`*`, `?`) matched against the whole licence text
  // and against its first word, so "CC-BY-4.0 Example Corp" is attribution.
  std::vector<std::string> patterns;
};

struct LicenceRanking {
  std::vector<LicenceClass> classes = default_classes();  // most restrictive first
  std::string accept = "share-alike";                     // the most restrictive class that passes

  static std::vector<LicenceClass> default_classes();
  // Index into classes (0: most restrictive); unknown text ranks 0.
  size_t rank(std::string_view licence) const;
  const std::string& class_name(std::string_view licence) const;
  // Throws std::invalid_argument when `accept` names no class.
  size_t accept_rank() const;
  bool accepted(std::string_view licence) const { return rank(licence) >= accept_rank(); }
};

// Of several licences declared for the same bytes, the most restrictive.
std::string most_restrictive(const LicenceRanking& r, const std::vector<std::string>& licences);

}  // namespace atelier
