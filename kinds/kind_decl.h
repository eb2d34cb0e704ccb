// A job kind's one declaration: its name, the binary that runs it, the CPU
// threads one worker of it uses, and its parameters bound to the members of a
// typed struct. Everything else is derived from it: the schema the spec
// validator checks, the struct the kind's run() gets, the matching CLI
// command's flags and `atelier kinds`.
//
// Invariants:
//  - A parameter's default is the default member value of the struct (read
//    once, when the parameter is declared), so it is written in one place.
//  - parse() accepts exactly what the validator accepts: every present value
//    goes through check_param_value() with the same ParamSpec, and a refusal
//    is an InputError naming the kind and the parameter. `files` values are the
//    exception: by then they are resolved imports, checked at submission.
//  - Torch-free and store-free: pipelines, workers, dashboard, media and cli
//    all link it.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/errors.h"
#include "kinds/param.h"

namespace atelier {

// The two binaries: `atelier` never links libtorch, OpenCV or FFmpeg, so every
// CLI call and plain worker starts fast; `atelier-ml` links them.
inline constexpr const char* kLightBinary = "atelier";
inline constexpr const char* kMlBinary = "atelier-ml";

struct KindSpec {
  std::string name;
  std::string binary = kLightBinary;
  int threads = 1;        // CPU threads one worker of this kind uses
  bool internal = false;  // made by Atelier itself, never named in a spec
  std::string summary;
  std::string command;  // the CLI command that runs it outside the queue, if any
  std::vector<ParamSpec> params;
  const ParamSpec* param(std::string_view n) const;
  bool ml() const { return binary == kMlBinary; }
};

namespace kind_detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
nlohmann::json to_json_value(const T& v) {
  if constexpr (is_optional<T>::value) {
    return v ? to_json_value(*v) : nlohmann::json(nullptr);
  } else {
    return nlohmann::json(v);
  }
}

template <class T>
void from_json_value(const nlohmann::json& v, T& out) {
  if constexpr (is_optional<T>::value) {
    typename T::value_type x{};
    from_json_value(v, x);
    out = std::move(x);
  } else if constexpr (std::is_same_v<T, nlohmann::json>) {
    out = v;
  } else {
    out = v.get<T>();
  }
}

}  // namespace kind_detail

template <class P>
class KindDecl {
 public:
  explicit KindDecl(KindSpec spec) : spec_(std::move(spec)) {}

  // Binds `member` to the parameter `p` and takes its default from P{}.
  template <class T>
  KindDecl& param(T P::*member, ParamSpec p) {
    const P defaults{};
    p.default_value = kind_detail::to_json_value(defaults.*member);
    spec_.params.push_back(std::move(p));
    setters_.push_back([member](P& out, const nlohmann::json& v) {
      kind_detail::from_json_value(v, out.*member);
    });
    return *this;
  }

  const KindSpec& spec() const { return spec_; }

  // The typed parameters of a job (references already resolved). A missing or
  // null value keeps the struct's default.
  P parse(const nlohmann::json& params) const {
    P out{};
    if (!params.is_null() && !params.is_object())
      throw InputError(spec_.name + ": params must be a mapping");
    for (size_t i = 0; i < spec_.params.size(); ++i) {
      const ParamSpec& p = spec_.params[i];
      const auto it = params.is_object() ? params.find(p.name) : params.end();
      if (!params.is_object() || it == params.end() || it->is_null()) {
        if (p.required) throw InputError(spec_.name + ": param '" + p.name + "' is required");
        continue;
      }
      // Files were checked at submission and resolved since into imported
      // assets ([{path, sha256, source}]): that form is the worker's, not a spec's.
      if (p.type != ParamType::files)
        if (auto why = check_param_value(p, *it)) throw InputError(spec_.name + ": " + *why);
      try {
        setters_[i](out, *it);
      } catch (const nlohmann::json::exception&) {
        throw InputError(spec_.name + ": param '" + p.name + "' must be " +
                         std::string(to_string(p.type)) + " of the right shape, got " + it->dump());
      }
    }
    return out;
  }

 private:
  KindSpec spec_;
  std::vector<std::function<void(P&, const nlohmann::json&)>> setters_;
};

}  // namespace atelier
