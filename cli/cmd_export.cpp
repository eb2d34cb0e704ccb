// `atelier export RUN DIR [--name TEMPLATE] [--include-quarantined]`: a run's
// deliverables (every image and video it made, each once, quarantined ones left
// out unless asked) copied into DIR under human names built from their job's
// matrix variables, each with a signed sidecar manifest NAME.manifest.json
// (provenance/export_manifest.h), plus index.json listing them all.
// Names: TEMPLATE is text with {variable} fields: the job's matrix variables, and
// stage, job, index (its place among the job's outputs), seed, aspect (a video's
// WxH), name (the output's name without extension) and sha8. A field an asset does
// not have becomes "na"; names that collide get _2, _3, ... Exit 2 for a run that
// does not exist or a template field no deliverable has.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>

#include "cli_util.h"
#include "commands.h"
#include "common/errors.h"
#include "media/png_meta.h"
#include "orchestrator/ids.h"
#include "orchestrator/run_outputs.h"
#include "provenance/export_manifest.h"
#include "provenance/workspace_key.h"

namespace atelier::cli {
namespace {

namespace fs = std::filesystem;

bool deliverable_type(const std::string& media_type) {
  return media_type.rfind("image/", 0) == 0 || media_type.rfind("video/", 0) == 0;
}

// File names keep letters, digits and - _ . + (UTF-8 letters pass unchanged).
std::string safe_name(std::string s) {
  for (char& c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80 && !std::isalnum(u) && c != '-' && c != '_' && c != '.' && c != '+') c = '-';
  }
  while (!s.empty() && (s[0] == '.' || s[0] == '-')) s.erase(0, 1);
  return s.empty() ? "asset" : s;
}

std::string text_of(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

int cmd_export(const Globals& g, const ExportArgs& a) {
  Workspace ws = open_workspace(g);
  auto store = ws.open_store();
  const int64_t run_id = parse_run_id(a.run);
  const auto run = store->get_run(run_id);
  if (!run) throw NotFound("no such run: " + a.run);
  const AssetStore files = ws.asset_store();

  std::set<std::string> quarantined;
  for (const CheckRow& c : store->run_checks(run_id))
    if (c.quarantined && c.sha256) quarantined.insert(*c.sha256);

  struct Item {
    AssetRow asset;
    JobRow job;
    int index = 0;
    json vars;
  };
  std::vector<Item> items;
  std::set<std::string> fields_seen;
  json skipped = json::array();
  visit_run_outputs(*store, run_id, [&](JobRow& j, const std::vector<JobOutput>& outputs) {
    if (j.state != "succeeded") return;
    int index = 0;
    for (const JobOutput& o : outputs) {
      const AssetRow& out = o.asset;
      if (!deliverable_type(out.media_type)) continue;
      const int k = index++;
      if (!o.made_here) continue;  // forwarded by a check: exported with its maker
      if (quarantined.count(out.sha256) && !a.include_quarantined) {
        skipped.push_back({{"sha256", out.sha256}, {"why", "quarantined"}});
        continue;
      }
      json vars = j.matrix.is_object() ? j.matrix : json::object();
      vars["stage"] = j.stage;
      vars["job"] = job_ref(j.id);
      vars["index"] = k;
      vars["name"] = fs::path(out.name).stem().string();
      vars["sha8"] = out.sha256.substr(0, 8);
      if (j.params.contains("seed") && j.params["seed"].is_number_integer())
        vars["seed"] = j.params["seed"].get<int64_t>() + k;
      if (out.media_type.rfind("video/", 0) == 0 && out.width && out.height)
        vars["aspect"] = std::to_string(*out.width) + "x" + std::to_string(*out.height);
      for (auto it = vars.begin(); it != vars.end(); ++it) fields_seen.insert(it.key());
      items.push_back({out, j, k, vars});
    }
  });
  static const std::regex field(R"(\{([A-Za-z0-9_]+)\})");
  for (std::sregex_iterator it(a.name.begin(), a.name.end(), field), end; it != end; ++it)
    if (!items.empty() && !fields_seen.count((*it)[1].str()))
      throw InputError("export: --name field {" + (*it)[1].str() +
                       "} is not a matrix variable or a known field of any deliverable");

  fs::create_directories(a.dir);
  const provenance::KeyPair key = provenance::workspace_signing_key(ws.dir(), *store);
  std::set<std::string> names;
  json index = json::array();
  json missing = json::array();  // assets whose file is gone from the store: named, not fatal
  for (const Item& it : items) {
    std::string stem;
    std::string::const_iterator pos = a.name.begin();
    for (std::sregex_iterator m(a.name.begin(), a.name.end(), field), end; m != end; ++m) {
      stem.append(pos, a.name.begin() + m->position());
      const std::string k = (*m)[1].str();
      stem += it.vars.contains(k) ? text_of(it.vars[k]) : "na";
      pos = a.name.begin() + m->position() + m->length();
    }
    stem.append(pos, a.name.end());
    stem = safe_name(stem);
    std::string unique = stem;
    for (int n = 2; !names.insert(unique).second; ++n) unique = stem + "_" + std::to_string(n);
    const fs::path src = files.path_for(it.asset.sha256, it.asset.ext);
    const fs::path dst = fs::path(a.dir) / (unique + "." + it.asset.ext);
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(src, ec)) ||
        !fs::copy_file(src, dst, fs::copy_options::overwrite_existing, ec) || ec) {
      missing.push_back({{"sha256", it.asset.sha256},
                         {"expected", src.string()},
                         {"stage", it.job.stage},
                         {"error", ec ? ec.message() : "not in the asset store"}});
      continue;
    }

    const json manifest = provenance::export_manifest(
        *store, files,
        {*run, it.job, it.asset, dst.filename().string(), quarantined.count(it.asset.sha256) > 0,
         format_time(static_cast<int64_t>(std::time(nullptr)) * 1000)},
        key);
    std::ofstream(fs::path(a.dir) / (unique + ".manifest.json")) << manifest.dump(2) << "\n";
    index.push_back({{"file", dst.filename().string()},
                     {"manifest", unique + ".manifest.json"},
                     {"sha256", it.asset.sha256},
                     {"stage", it.job.stage},
                     {"matrix", it.job.matrix}});
  }
  std::ofstream(fs::path(a.dir) / "index.json") << json{{"run", run_ref(run_id)},
                                                        {"files", index},
                                                        {"left_out", skipped},
                                                        {"missing", missing}}
                                                       .dump(2)
                                                << "\n";
  store->audit("cli", "export", run_ref(run_id),
               {{"dir", a.dir}, {"files", index.size()}, {"left_out", skipped.size()}});
  if (g.json) {
    std::cout << json{{"dir", a.dir}, {"files", index}, {"left_out", skipped}, {"missing", missing}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "exported " << index.size() << " file(s) of " << run_ref(run_id) << " to " << a.dir
              << " (each with NAME.manifest.json; index.json lists them)\n";
    if (!skipped.empty())
      std::cout << skipped.size()
                << " quarantined asset(s) left out (--include-quarantined to add them)\n";
  }
  // Everything that could be delivered was; what could not is named, and the
  // export as a whole did not do what was asked (exit 1).
  for (const json& m : missing)
    std::cerr << "atelier: export: " << m["expected"].get<std::string>() << " ("
              << m["stage"].get<std::string>() << "): " << m["error"].get<std::string>() << "\n";
  return missing.empty() ? 0 : 1;
}

}  // namespace atelier::cli
