#include "kind_flags.h"

#include <cctype>
#include <charconv>
#include <cstdlib>

namespace atelier::cli {

using nlohmann::json;

namespace {

json scalar(ParamType t, const std::string& s) {
  if (t == ParamType::integer || t == ParamType::list) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return v;
  }
  if (t == ParamType::number) {
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0' && !std::isspace(static_cast<unsigned char>(s[0])))
      return v;
  }
  if (t == ParamType::object) {
    json v = json::parse(s, nullptr, false);
    if (!v.is_discarded()) return v;
  }
  return s;
}

std::string help(const ParamSpec& p) {
  std::string h = p.doc;
  if (!p.default_value.is_null() &&
      !(p.default_value.is_string() && p.default_value.get<std::string>().empty()))
    h += " (default " +
         (p.default_value.is_string() ? p.default_value.get<std::string>()
                                      : p.default_value.dump()) +
         ")";
  return h;
}

}  // namespace

json flag_value(ParamType t, const std::vector<std::string>& text) {
  if (t == ParamType::list) {
    json out = json::array();
    for (const auto& s : text) out.push_back(scalar(t, s));
    return out;
  }
  return text.empty() ? json(nullptr) : scalar(t, text.back());
}

KindFlags::KindFlags(CLI::App* cmd, const KindSpec& kind,
                     const std::map<std::string, std::string>& aliases)
    : cmd_(cmd), kind_(kind) {
  for (const ParamSpec& p : kind.params) {
    if (p.cli == CliForm::none) continue;
    if (p.cli == CliForm::positional) {
      auto* o = cmd->add_option(p.name, values_[p.name], help(p));
      if (p.required) o->required();
      continue;
    }
    if (p.type == ParamType::boolean) {
      cmd->add_flag(p.flag(), switches_[p.name], help(p));
      continue;
    }
    const auto alias = aliases.find(p.name);
    auto* o = cmd->add_option(p.flag() + (alias == aliases.end() ? "" : "," + alias->second),
                              values_[p.name], help(p));
    if (p.type == ParamType::list) {
      o->delimiter(',');  // --channels 32,64 or --loras a --loras b
    } else {
      o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
  }
}

bool KindFlags::given(const std::string& param) const {
  const ParamSpec* p = kind_.param(param);
  if (!p) return false;
  if (p->cli == CliForm::positional) return !values_.at(param).empty();
  return p->cli == CliForm::flag && cmd_->count(p->flag()) > 0;
}

json KindFlags::params() const {
  json out = json::object();
  for (const auto& [name, text] : values_) {
    if (text.empty()) continue;
    out[name] = flag_value(kind_.param(name)->type, text);
  }
  for (const auto& [name, on] : switches_)
    if (on) out[name] = true;
  return out;
}

}  // namespace atelier::cli
