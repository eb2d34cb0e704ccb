// A job kind's parameters as the flags of its CLI command (`atelier generate`,
// `train-lora`, `train-base`): each declared parameter `snake_case` is the flag
// `--kebab-case` (or the command's positional argument), described from the
// declaration, and the values given are read into the kind's typed struct by
// the declaration's own parse, so a flag has the parameter's bounds and its
// refusal says what `atelier validate` says of the same value in a spec.
#pragma once
#include <CLI/CLI.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kinds/kind_decl.h"

namespace atelier::cli {

class KindFlags {
 public:
  // Adds the flags of `kind`'s parameters to `cmd`; `aliases` gives a
  // parameter a second flag (param name -> "--flag").
  KindFlags(CLI::App* cmd, const KindSpec& kind,
            const std::map<std::string, std::string>& aliases = {});
  // The parameters given, as a spec would hold them (text read as the declared
  // type where it parses as one; anything else stays text, for the parse to
  // refuse with the declared type's message).
  nlohmann::json params() const;
  // The typed parameters (InputError as `<kind>: param '...' ...`).
  template <class P>
  P parse(const KindDecl<P>& decl) const {
    return decl.parse(params());
  }
  bool given(const std::string& param) const;

 private:
  CLI::App* cmd_;
  const KindSpec& kind_;
  std::map<std::string, std::vector<std::string>> values_;
  std::map<std::string, bool> switches_;
};

// Text from a command line as a JSON value of type `t`: "12" as 12 for an
// integer, "0.5" as 0.5 for a number, a list split on commas; text that does
// not parse stays a string.
nlohmann::json flag_value(ParamType t, const std::vector<std::string>& text);

}  // namespace atelier::cli
