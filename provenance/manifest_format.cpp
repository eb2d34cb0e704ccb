// Strict manifest reading and the fields of each format; see manifest_format.h.
// The field tables below are the one description of what the writers
// (generation_manifest.cpp, export_manifest.cpp, the video kind) put in a
// manifest: a field added there must be added here, or verify refuses it (the
// tests verify what each writer writes).
#include "provenance/manifest_format.h"

#include <set>

#include "provenance/signing.h"

namespace atelier::provenance {

using nlohmann::json;

namespace {

// A key as messages show it: as it is when it is plain ASCII, else as JSON text,
// so that control characters and quotes from a hostile file stay escaped.
std::string shown_key(const std::string& k) {
  for (const char c : k)
    if (c <= ' ' || c > '~' || c == '"' || c == '\\' || c == '.' || c == '[') return json(k).dump();
  return k.empty() ? "\"\"" : k;
}

// Finds the first key repeated within one object while the parser runs (the
// parser itself keeps the last value of a repeated key and says nothing).
class DuplicateKeyFinder {
 public:
  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        frames_.push_back({event == json::parse_event_t::object_start, {}, child_path(), {}, 0});
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!frames_.empty()) frames_.pop_back();
        count_value();
        break;
      case json::parse_event_t::key:
        if (!frames_.empty() && parsed.is_string()) {
          Frame& f = frames_.back();
          f.last_key = parsed.get<std::string>();
          if (!f.keys.insert(f.last_key).second && found_.empty())
            found_ = "key " + shown_key(f.last_key) + " appears twice in " +
                     (f.path.empty() ? std::string("the top-level object") : f.path);
        }
        break;
      case json::parse_event_t::value:
        count_value();
        break;
    }
    return true;
  }
  const std::string& found() const { return found_; }

 private:
  struct Frame {
    bool object;
    std::set<std::string> keys;
    std::string path;
    std::string last_key;
    std::size_t index;
  };
  // The path of the value about to start, from the frame that holds it.
  std::string child_path() const {
    if (frames_.empty()) return "";
    const Frame& f = frames_.back();
    if (!f.object) return f.path + "[" + std::to_string(f.index) + "]";
    return f.path.empty() ? shown_key(f.last_key) : f.path + "." + shown_key(f.last_key);
  }
  void count_value() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
  }
  std::vector<Frame> frames_;
  std::string found_;
};

enum class T { string, integer, number, boolean, object, array, any, string_or_null };
enum Flags { kRequired = 1, kSinceV2 = 2 };  // required in format 2; unknown in format 1

struct Rule {
  const char* name;
  T type;
  int flags;
  const std::vector<Rule>* fields = nullptr;  // an object's, or each array element's
};

const std::vector<Rule> kInputs = {{"sha256", T::string, kRequired},
                                   {"role", T::string, kRequired}};
const std::vector<Rule> kGeneration = {{"prompt", T::string, kRequired},
                                       {"negative_prompt", T::string, kRequired},
                                       {"steps", T::integer, kRequired},
                                       {"sampler", T::string, kRequired},
                                       {"cfg", T::number, kRequired},
                                       {"seed", T::integer, kRequired},
                                       {"width", T::integer, kRequired},
                                       {"height", T::integer, kRequired},
                                       {"threads", T::integer, kRequired},
                                       {"batch", T::integer, kRequired},
                                       {"batch_index", T::integer, kRequired},
                                       // Further A1111 fields ([name, value] pairs: "Clip skip",
                                       // "Denoising strength"), only when there are any.
                                       {"settings", T::array, kSinceV2}};
const std::vector<Rule> kModels = {{"role", T::string, kRequired},
                                   {"name", T::string, kRequired},
                                   {"sha256", T::string, kRequired},
                                   {"scale", T::number, 0},  // LoRAs only
                                   // kohya LoRAs: A1111's "Lora hashes" value
                                   {"a1111_hash", T::string, kSinceV2}};
const std::vector<Rule> kGenerationManifest = {
    {"format", T::string, kRequired},
    {"software", T::string, kRequired},
    {"digital_source_type", T::string, kRequired},
    {"run", T::integer, kRequired},
    {"job", T::integer, kRequired},
    {"stage", T::string, kRequired},
    {"params", T::any, kRequired},
    {"generation", T::object, kRequired, &kGeneration},
    {"models", T::array, kRequired, &kModels},
    {"inputs", T::array, kRequired, &kInputs},
    {"pixels_sha256", T::string, kRequired},
    {"pixels_format", T::string, kRequired},
    {"libtorch", T::string, kRequired},
    {"created_at", T::integer, kRequired},
    {"parameters_sha256", T::string, kRequired | kSinceV2},
    {"signature", T::any, 0}};

const std::vector<Rule> kVideo = {{"sha256", T::string, kRequired},
                                  {"width", T::integer, kRequired},
                                  {"height", T::integer, kRequired},
                                  {"aspect", T::string, kRequired},
                                  {"duration_ms", T::integer, kRequired}};
const std::vector<Rule> kVideoManifest = {{"format", T::string, kRequired},
                                          {"software", T::string, kRequired},
                                          {"digital_source_type", T::string, kRequired},
                                          {"run", T::integer, kRequired},
                                          {"job", T::integer, kRequired},
                                          {"stage", T::string, kRequired},
                                          {"params", T::any, kRequired},
                                          {"video", T::object, kRequired, &kVideo},
                                          {"inputs", T::array, kRequired, &kInputs},
                                          {"created_at", T::integer, kRequired},
                                          {"signature", T::any, 0}};

const std::vector<Rule> kExportModels = {{"sha256", T::string, kRequired},
                                         {"role", T::string, kRequired},
                                         {"name", T::string, kRequired}};
// Every import of an input's bytes, where there was more than one (format 2).
const std::vector<Rule> kExportImports = {{"source", T::string, kRequired},
                                          {"licence", T::string_or_null, kRequired}};
const std::vector<Rule> kExportInputs = {{"sha256", T::string, kRequired},
                                         {"role", T::string, kRequired},
                                         {"source", T::string, 0},
                                         {"licence", T::string, 0},
                                         {"imports", T::array, 0, &kExportImports}};
const std::vector<Rule> kExportChecks = {{"check", T::string, kRequired},
                                         {"verdict", T::string, kRequired},
                                         {"quarantined", T::boolean, kRequired},
                                         {"job", T::string_or_null, kRequired},
                                         {"label", T::any, 0},
                                         {"reason", T::any, 0}};
const std::vector<Rule> kExportManifest = {{"format", T::string, kRequired},
                                           {"software", T::string, kRequired},
                                           {"file", T::string, kRequired},
                                           {"sha256", T::string, kRequired},
                                           {"media_type", T::string, kRequired},
                                           {"bytes", T::integer, kRequired},
                                           {"run", T::string, kRequired},
                                           {"run_name", T::string, kRequired},
                                           {"job", T::string, kRequired},
                                           {"stage", T::string, kRequired},
                                           {"kind", T::string, kRequired},
                                           {"matrix", T::any, kRequired},
                                           {"params", T::any, kRequired},
                                           {"models", T::array, kRequired, &kExportModels},
                                           {"inputs", T::array, kRequired, &kExportInputs},
                                           {"checks", T::array, kRequired, &kExportChecks},
                                           {"quarantined", T::boolean, kRequired},
                                           {"exported_at", T::string, kRequired},
                                           {"digital_source_type", T::string, 0},  // images only
                                           {"embedded_manifest_sha256", T::string, 0},
                                           {"video_manifest_sha256", T::string, 0},
                                           {"signature", T::any, 0}};

bool has_type(const json& v, T t) {
  switch (t) {
    case T::string:
      return v.is_string();
    case T::integer:
      return v.is_number_integer();
    case T::number:
      return v.is_number();
    case T::boolean:
      return v.is_boolean();
    case T::object:
      return v.is_object();
    case T::array:
      return v.is_array();
    case T::string_or_null:
      return v.is_string() || v.is_null();
    case T::any:
      return true;
  }
  return false;
}

const char* type_name(T t) {
  switch (t) {
    case T::string:
      return "text";
    case T::integer:
      return "an integer";
    case T::number:
      return "a number";
    case T::boolean:
      return "true or false";
    case T::object:
      return "an object";
    case T::array:
      return "an array";
    case T::string_or_null:
      return "text or null";
    case T::any:
      break;
  }
  return "anything";
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

void check_object(const json& obj, const std::vector<Rule>& rules, int version,
                  const std::string& path, std::vector<std::string>& out) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const Rule* rule = nullptr;
    for (const Rule& r : rules)
      if (it.key() == r.name && (version >= 2 || !(r.flags & kSinceV2))) rule = &r;
    // A key is named as JSON text, so that control characters in it stay escaped.
    const std::string where = join(path, shown_key(it.key()));
    if (!rule) {
      out.push_back("unknown field " + where);
      continue;
    }
    if (!has_type(*it, rule->type)) {
      out.push_back(where + " must be " + type_name(rule->type));
      continue;
    }
    if (!rule->fields) continue;
    if (it->is_object()) {
      check_object(*it, *rule->fields, version, where, out);
    } else if (it->is_array()) {
      for (std::size_t i = 0; i < it->size(); ++i) {
        const std::string at = where + "[" + std::to_string(i) + "]";
        if (!(*it)[i].is_object())
          out.push_back(at + " must be an object");
        else
          check_object((*it)[i], *rule->fields, version, at, out);
      }
    }
  }
  if (version < 2) return;
  for (const Rule& r : rules)
    if ((r.flags & kRequired) && !obj.contains(r.name))
      out.push_back("missing field " + join(path, r.name));
}

}  // namespace

ManifestText parse_manifest_text(std::string_view text, const std::string& what) {
  if (json_nesting_depth(text) > kMaxManifestDepth)
    return {std::nullopt, "not_json",
            what + " nests deeper than " + std::to_string(kMaxManifestDepth) + " levels"};
  DuplicateKeyFinder dup;
  json manifest;
  try {
    manifest = json::parse(text, std::ref(dup));
  } catch (const json::parse_error& e) {
    return {std::nullopt, "not_json", what + " is not JSON: " + e.what()};
  }
  if (!dup.found().empty())
    return {std::nullopt, "ambiguous",
            what + " is ambiguous: " + dup.found() +
                " (readers that keep the first value and readers that keep the last would see "
                "different manifests)"};
  if (!manifest.is_object()) return {std::nullopt, "not_json", what + " is not a JSON object"};
  return {std::move(manifest), "", ""};
}

std::optional<ManifestFormat> manifest_format(const json& m, std::string& why) {
  why.clear();
  const auto it = m.find("format");
  if (it == m.end() || !it->is_string()) {
    why = "the manifest has no \"format\" (text): not an Atelier manifest";
    return std::nullopt;
  }
  const std::string name = it->get<std::string>();
  ManifestFormat f{ManifestKind::generation, 0, name};
  if (name == "atelier-manifest/1") {
    f = {m.contains("video") ? ManifestKind::video : ManifestKind::generation, 1, name};
  } else if (name == kGenerationFormat) {
    f = {ManifestKind::generation, 2, name};
  } else if (name == kVideoFormat) {
    f = {ManifestKind::video, 2, name};
  } else if (name == "atelier-export-manifest/1") {
    f = {ManifestKind::export_file, 1, name};
  } else if (name == kExportFormat) {
    f = {ManifestKind::export_file, 2, name};
  } else {
    why = "unknown manifest format " + json(name).dump() +
          " (this atelier reads atelier-manifest/1 and /2, atelier-video-manifest/2 and "
          "atelier-export-manifest/1 and /2)";
    return std::nullopt;
  }
  return f;
}

std::vector<std::string> field_problems(const json& manifest, const ManifestFormat& f) {
  std::vector<std::string> out;
  const std::vector<Rule>& rules = f.kind == ManifestKind::generation ? kGenerationManifest
                                   : f.kind == ManifestKind::video    ? kVideoManifest
                                                                      : kExportManifest;
  check_object(manifest, rules, f.version, "", out);
  return out;
}

}  // namespace atelier::provenance
