// `atelier check FILE...` (the check kind's checks on files, outside any run) and
// `atelier registry add|list` (the protected works the copyright check compares
// against). Both read images with OpenCV's codecs, so they run in atelier-ml.
// Files are typed by their content, never their name (media/content_type.h).
// Exit codes: check 1 when any file's verdict is fail or not_checked (nothing could
// be compared: not a pass), or the batch's bias verdict is fail; 2 for a file that
// does not exist or bad options; registry add 2 when the folder has no image at all.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "cli_util.h"
#include "commands.h"
#include "common/errors.h"
#include "media/content_type.h"
#include "media/image_decode.h"
#include "orchestrator/asset_hashes.h"
#include "workers/check/run_checks.h"
#include "workers/check/subject_context.h"

namespace atelier::cli {
namespace {

namespace fs = std::filesystem;

json read_rules_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("--terms: cannot read '" + path + "'");
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw InputError("--terms: " + path + ": not JSON: " + e.what());
  }
}

json verdict_json(const CheckVerdict& v) {
  json j = {{"check", v.check_kind}, {"verdict", v.verdict}, {"details", v.details}};
  if (v.score) j["score"] = *v.score;
  return j;
}

}  // namespace

int cmd_check(const Globals& g, const CheckArgs& a) {
  if (a.files.empty()) throw InputError("check: give at least one file");
  json with = json::object();
  if (!a.no_copyright) with["copyright"] = json{{"training", a.training}};
  if (!a.terms.empty()) with["terms"] = read_rules_file(a.terms);
  if (a.bias) with["bias"] = true;
  if (with.empty())
    throw InputError("check: nothing to check (--no-copyright without --terms or --bias)");
  const CheckConfig cfg = parse_check_config(with);

  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  const AssetStore files = ws.asset_store();
  std::unique_ptr<RegistryIndex> registry;
  if (cfg.copyright) registry = load_registry(*store, *cfg.copyright);
  SubjectContext gather(*store, files, ws.config());
  std::vector<CheckSubject> subjects;
  for (const std::string& f : a.files) {
    if (!fs::is_regular_file(f)) throw InputError("check: " + f + ": no such file");
    CheckSubject s;
    s.sha256 = sha256_file(f);
    s.name = f;
    s.path = f;
    s.media_type = media::sniff_file(f).media_type;
    // A file the workspace made or imported is checked with its lineage.
    if (auto row = store->get_asset(s.sha256)) {
      s.stored_hashes = row->hashes;
      gather.fill(s, cfg.copyright && cfg.copyright->training_verdict != "off", false);
    } else {
      read_embedded_prompt(*store, s);  // a PNG's (by content), signed first
    }
    subjects.push_back(std::move(s));
  }
  const CheckOutcome out = run_checks(subjects, cfg, registry.get());
  bool failed = false;
  json report = json::array();
  for (size_t i = 0; i < subjects.size(); ++i) {
    const SubjectOutcome& o = out.subjects[i];
    failed = failed || o.worst == "fail" || o.worst == "not_checked";
    json item = {{"file", subjects[i].name},
                 {"sha256", subjects[i].sha256},
                 {"content", o.content_type},
                 {"verdict", o.worst},
                 {"checks", json::array()}};
    if (!o.reason.empty()) item["reason"] = o.reason;
    for (const CheckVerdict& v : o.verdicts) item["checks"].push_back(verdict_json(v));
    report.push_back(std::move(item));
  }
  if (out.bias) failed = failed || out.bias->verdict == "fail";
  if (!a.bias_chart.empty() && out.bias) {
    std::ofstream(a.bias_chart, std::ios::binary)
        .write(reinterpret_cast<const char*>(out.bias_chart.data()),
               static_cast<std::streamsize>(out.bias_chart.size()));
  }
  if (g.json) {
    json doc = {{"files", report}};
    if (out.bias) doc["bias"] = out.bias_report;
    std::cout << doc.dump(2) << "\n";
    return failed ? 1 : 0;
  }
  for (size_t i = 0; i < subjects.size(); ++i) {
    std::cout << subjects[i].name << ": " << out.subjects[i].worst;
    if (!out.subjects[i].reason.empty()) std::cout << " - " << out.subjects[i].reason;
    std::cout << "\n";
    for (const CheckVerdict& v : out.subjects[i].verdicts) {
      std::cout << "  " << v.check_kind << ": " << v.verdict;
      if (v.details.contains("label"))
        std::cout << " (registry: " << v.details["label"].get<std::string>() << ")";
      if (v.details.contains("reason"))
        std::cout << " - " << v.details["reason"].get<std::string>();
      if (v.details.contains("memorised"))
        std::cout << " - close to training image "
                  << v.details["memorised"][0]["source"].get<std::string>();
      if (v.details.contains("hits"))
        for (const json& h : v.details["hits"])
          std::cout << " - '" << h["term"].get<std::string>() << "' in "
                    << h["field"].get<std::string>();
      std::cout << "\n";
    }
  }
  if (out.bias) {
    const size_t left_out = out.bias_report.value("not_images", json::array()).size();
    std::cout << "bias (batch of " << subjects.size() - left_out << "): " << out.bias->verdict;
    if (left_out > 0) std::cout << " - " << left_out << " file(s) left out, not images";
    std::cout << "\n";
    for (const json& l : out.bias_report.value("reasons", json::array()))
      std::cout << "  " << l.get<std::string>() << "\n";
  }
  return failed ? 1 : 0;
}

int cmd_registry_add(const Globals& g, const std::string& dir, const std::string& label) {
  if (label.empty()) throw InputError("registry add: --label must not be empty");
  if (!fs::is_directory(dir)) throw InputError("registry add: " + dir + ": not a folder");
  // Images by their content, whatever their names; other files are not works.
  std::vector<fs::path> found;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    try {
      if (media::sniff_file(e.path()).image()) found.push_back(e.path());
    } catch (const std::exception&) {
      found.push_back(e.path());  // unreadable: named among the skipped below
    }
  }
  std::sort(found.begin(), found.end());
  if (found.empty())
    throw InputError("registry add: " + dir + ": no image files (png, jpg, webp, ...)");
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  std::vector<RegistryEntry> entries;
  json skipped = json::array();
  for (const fs::path& p : found) {
    try {
      const media::ReducedImage img = media::read_image_reduced(p);
      const media::ImageHashes h = media::hash_image(img.image);
      if (!h.hashable()) {
        skipped.push_back({{"file", p.string()},
                           {"why", "unhashable: quality " + std::to_string(h.quality) +
                                       " is under " + std::to_string(media::kPdqMinQuality)}});
        continue;
      }
      RegistryEntry e;
      e.label = label;
      e.sha256 = sha256_file(p);
      e.source_path = fs::absolute(p).lexically_normal().string();
      e.width = img.full_width;
      e.height = img.full_height;
      e.hashes = to_asset_hashes(h);
      entries.push_back(std::move(e));
    } catch (const std::exception& e) {
      skipped.push_back({{"file", p.string()}, {"why", e.what()}});
    }
  }
  const int added = store->add_registry_entries(entries);
  store->audit("cli", "registry.add", label,
               {{"folder", dir}, {"added", added}, {"skipped", skipped.size()}});
  if (g.json) {
    std::cout << json{{"label", label},
                      {"added", added},
                      {"already_listed", static_cast<int>(entries.size()) - added},
                      {"skipped", skipped}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "registry '" << label << "': added " << added << ", already listed "
              << entries.size() - added << ", skipped " << skipped.size() << "\n";
    for (const json& s : skipped)
      std::cout << "  skipped " << s["file"].get<std::string>() << ": "
                << s["why"].get<std::string>() << "\n";
  }
  return 0;
}

int cmd_registry_list(const Globals& g) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  std::map<std::string, int> by_label;
  for (const RegistryEntry& e : store->registry(std::nullopt)) ++by_label[e.label];
  if (g.json) {
    std::cout << json(by_label).dump(2) << "\n";
    return 0;
  }
  if (by_label.empty())
    std::cout << "the registry is empty (atelier registry add DIR --label LABEL)\n";
  for (const auto& [label, n] : by_label) std::cout << label << "\t" << n << "\n";
  return 0;
}

}  // namespace atelier::cli
