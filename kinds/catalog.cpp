#include "kinds/catalog.h"

#include "kinds/caption.h"
#include "kinds/check.h"
#include "kinds/generate.h"
#include "kinds/report.h"
#include "kinds/sleep.h"
#include "kinds/train_base.h"
#include "kinds/train_lora.h"
#include "kinds/video.h"

namespace atelier {

const ParamSpec* KindSpec::param(std::string_view n) const {
  for (const ParamSpec& p : params)
    if (p.name == n) return &p;
  return nullptr;
}

const std::vector<KindSpec>& kind_catalog() {
  static const std::vector<KindSpec> all = {
      sleep_kind().spec(),      caption_kind().spec(),  train_lora_kind().spec(),
      train_base_kind().spec(), generate_kind().spec(), video_kind().spec(),
      check_kind().spec(),      report_kind().spec(),   expand_kind().spec()};
  return all;
}

const KindSpec* find_kind(std::string_view name) {
  for (const KindSpec& k : kind_catalog())
    if (k.name == name) return &k;
  return nullptr;
}

std::string known_kinds_list() {
  std::string s;
  for (const KindSpec& k : kind_catalog())
    if (!k.internal) s += (s.empty() ? "" : ", ") + k.name;
  return s;
}

nlohmann::json kinds_json() {
  nlohmann::json out = nlohmann::json::array();
  for (const KindSpec& k : kind_catalog()) {
    nlohmann::json params = nlohmann::json::array();
    for (const ParamSpec& p : k.params) params.push_back(param_json(p));
    out.push_back(
        {{"name", k.name},
         {"binary", k.binary},
         {"threads", k.threads},
         {"internal", k.internal},
         {"summary", k.summary},
         {"command", k.command.empty() ? nlohmann::json(nullptr) : nlohmann::json(k.command)},
         {"params", params}});
  }
  return out;
}

}  // namespace atelier
