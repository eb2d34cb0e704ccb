// Prompt templating (DESIGN.md s.5): `{name}` matrix variables, `{a|b|c}`
// variant groups, `__name__` wildcard lists read from `name.txt` beside the
// spec, `{{` / `}}` for literal braces. Pure logic apart from load_wildcards.
// Invariants: a parsed template is valid UTF-8 with every brace matched; groups
// never nest and hold plain text only; substituted values and list entries are
// inserted as they are, never parsed again. Columns in errors are 1-based and
// count code points, so they match what an editor shows for Chinese text.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/errors.h"
#include "orchestrator/store.h"

namespace atelier {

// A template that does not parse or expand. The message reads "prompt column N:
// what is wrong" (or just what is wrong where no one place is at fault).
class TemplateError : public InputError {
 public:
  TemplateError(size_t column, const std::string& message);
  size_t column() const { return column_; }  // 1-based code points; 0: not about one place

 private:
  size_t column_;
};

class PromptTemplate {
 public:
  struct Part {
    enum class Kind { text, variable, variants, wildcard };
    Kind kind = Kind::text;
    std::string text;                       // literal text, or the variable / wildcard name
    std::vector<std::string> alternatives;  // variants only; at least two
    size_t column = 1;                      // where the part starts in the template
  };

  static PromptTemplate parse(std::string_view text);

  const std::vector<Part>& parts() const { return parts_; }
  // Distinct names in order of first use; wildcards without their underscores.
  std::vector<std::string> variables() const;
  std::vector<std::string> wildcards() const;
  size_t variant_groups() const;

 private:
  std::vector<Part> parts_;
};

// Wildcard name ("colors", no underscores) -> its entries, in file order.
using WildcardLists = std::map<std::string, std::vector<std::string>>;

// Reads `<dir>/<name>.txt` for each wildcard of `t`: one entry per line, spaces
// and a trailing \r trimmed, blank lines and lines starting with '#' skipped.
// Throws InputError naming the file (and line) when it is missing, unreadable,
// not UTF-8 or has no entries.
WildcardLists load_wildcards(const PromptTemplate& t, const std::filesystem::path& dir);
std::vector<std::string> read_wildcard_file(const std::filesystem::path& file);

enum class VariantMode {
  combinatorial,  // every combination of the groups and wildcards, the last varying fastest
  sampled,        // one reproducible draw per job
};

struct Expansion {
  std::string text;
  json choices = json::object();  // {"variant_0": "red", "__colors__": "blue"}
  uint64_t seed = 0;              // sampled: the mt19937_64 seed of this draw, to record
};

// The seed sampled mode draws job `job_index` with: `seed` and the index mixed
// so that neighbouring jobs draw independently, yet every rerun draws the same.
uint64_t prompt_sample_seed(uint64_t seed, uint64_t job_index);

// Expands `t` with matrix values `vars` (strings as they are, numbers and
// booleans as their JSON text). A wildcard used twice takes the same entry at
// both places; each variant group is chosen on its own. Combinatorial mode
// returns every combination and throws TemplateError when there would be more
// than `limit`; sampled mode returns one expansion, drawn with
// prompt_sample_seed(seed, job_index).
std::vector<Expansion> expand_prompt(const PromptTemplate& t, const json& vars,
                                     const WildcardLists& lists, VariantMode mode, uint64_t seed,
                                     size_t limit, uint64_t job_index = 0);

// Whether `text` uses any template syntax: a brace or a `__name__` wildcard.
// Plain prompts can then skip templating (and its errors) entirely.
bool has_template_syntax(std::string_view text);

}  // namespace atelier
