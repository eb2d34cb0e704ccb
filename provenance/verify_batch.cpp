// Verifying a run's files or an export folder; see verify_batch.h.
#include "provenance/verify_batch.h"

#include <algorithm>
#include <fstream>
#include <set>

#include "common/errors.h"
#include "media/png_meta.h"
#include "orchestrator/ids.h"
#include "orchestrator/run_outputs.h"
#include "provenance/generation_manifest.h"
#include "provenance/manifest_format.h"

namespace atelier::provenance {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool deliverable_type(const std::string& media_type) {
  return media_type.rfind("image/", 0) == 0 || media_type.rfind("video/", 0) == 0;
}

bool is_regular(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(fs::symlink_status(p, ec));
}

Finding missing_finding(const std::string& expected, const std::string& why) {
  return {"file", "missing", "missing: expected at " + expected + " (" + why + ")"};
}

// Why `p` is not a regular file: absent from `where`, or something else there.
std::string absent_reason(const fs::path& p, const std::string& where) {
  std::error_code ec;
  const auto st = fs::symlink_status(p, ec);
  if (ec || !fs::exists(st)) return "not in " + where;
  return fs::is_symlink(st) ? "a symbolic link, not a file" : "not a regular file";
}

// The file's bytes against a sha256 someone vouches for (`whose`).
Finding bytes_finding(const fs::path& file, const std::string& want, const std::string& whose) {
  std::string got;
  try {
    got = sha256_file(file);
  } catch (const std::exception& e) {
    return {"file", "unreadable", std::string("unreadable: ") + e.what()};
  }
  if (got == want)
    return {"file", "match", "matches " + whose + " (sha256 " + got.substr(0, 16) + "...)", true};
  return {"file", "changed",
          "changed: its bytes hash to " + got.substr(0, 16) + "..., " + whose + " records " +
              want.substr(0, 16) + "..."};
}

// verify_png's findings appended to `r` (prefixed), an unreadable file included.
void add_png_findings(Store& store, const fs::path& file, VerifyResult& r,
                      const std::string& prefix) {
  try {
    VerifyResult inner = verify_png(store, file, r.file);
    for (Finding& f : inner.findings) {
      f.check = prefix + f.check;
      r.findings.push_back(std::move(f));
    }
    if (!r.manifest) r.manifest = std::move(inner.manifest);
  } catch (const Unreadable& e) {
    r.findings.push_back({prefix + "manifest", "unreadable", e.what()});
  }
}

// A JSON manifest file read strictly: findings for it appended to `r`; the
// manifest when it could be judged.
std::optional<json> sidecar_findings(Store& store, const fs::path& file, const std::string& name,
                                     ManifestKind want, VerifyResult& r) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec || !is_regular(file)) {
    r.findings.push_back({"manifest", "missing", "missing: " + name + " is not in the folder"});
    return std::nullopt;
  }
  if (size > kMaxSidecarBytes) {
    r.findings.push_back({"manifest", "too_large",
                          name + ": " + std::to_string(size) + " bytes, over the " +
                              std::to_string(kMaxSidecarBytes >> 20) + " MiB a manifest may be"});
    return std::nullopt;
  }
  // Read the size measured, whatever the file has grown to since.
  std::ifstream in(file, std::ios::binary);
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  ManifestText parsed = parse_manifest_text(text, name);
  if (!parsed.value) {
    r.findings.push_back({"manifest", parsed.status, parsed.why});
    return std::nullopt;
  }
  std::string why;
  const auto format = manifest_format(*parsed.value, why);
  if (format && format->kind != want)
    why = name + " holds " + format->name + ", not " +
          (want == ManifestKind::video ? "a video's manifest" : "an export manifest");
  if (!format || format->kind != want) {
    r.findings.push_back({"manifest", "unknown_format", why});
    return std::nullopt;
  }
  r.findings.push_back(
      {"manifest", "present", "present (" + name + ", " + format->name + ")", true});
  const SignatureCheck sig = manifest_findings(*parsed.value, *format, r.findings);
  if (sig.status == SignatureCheck::valid) r.findings.push_back(key_finding(store, sig));
  return std::move(parsed.value);
}

// A plain file name inside a folder: no path, nothing above it, and nothing a
// terminal would act on when the name is printed.
bool plain_name(const std::string& n) {
  if (n.empty() || n == "." || n == "..") return false;
  return std::none_of(n.begin(), n.end(), [](char c) {
    return c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

// Text from an untrusted index as messages show it: JSON-quoted when it holds
// a control character.
std::string shown(const std::string& s) {
  const bool plain = std::none_of(
      s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
  return plain ? s : json(s).dump();
}

std::string text_member(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

bool BatchResult::valid() const {
  return std::all_of(files.begin(), files.end(), [](const VerifyResult& r) { return r.valid(); });
}

std::vector<std::string> BatchResult::missing() const {
  std::vector<std::string> out;
  for (const VerifyResult& r : files)
    for (const Finding& f : r.findings)
      if (f.check == "file" && f.status == "missing") out.push_back(r.file);
  return out;
}

json BatchResult::to_json() const {
  json out = {
      {"target", target}, {"valid", valid()}, {"files", json::array()}, {"missing", missing()}};
  for (const VerifyResult& r : files) out["files"].push_back(r.to_json());
  return out;
}

BatchResult verify_run(Store& store, const AssetStore& files, int64_t run_id,
                       const std::string& shown_as) {
  if (!store.get_run(run_id)) throw NotFound("no such run: " + shown_as);
  BatchResult b;
  b.target = shown_as;
  std::vector<std::pair<JobRow, AssetRow>> items;
  visit_run_outputs(store, run_id, [&](JobRow& j, const std::vector<JobOutput>& outputs) {
    for (const JobOutput& o : outputs)
      if (o.made_here && deliverable_type(o.asset.media_type)) items.emplace_back(j, o.asset);
  });
  for (const auto& [job, asset] : items) {
    VerifyResult r;
    r.file = job.stage + "/" + asset.name + " (" + job_ref(job.id) + ")";
    const fs::path path = files.path_for(asset.sha256, asset.ext);
    if (!is_regular(path)) {
      r.findings.push_back(missing_finding(path.string(), absent_reason(path, "the asset store")));
      b.files.push_back(std::move(r));
      continue;
    }
    r.findings.push_back(bytes_finding(path, asset.sha256, "the workspace's record"));
    bool carries_manifest = false;
    if (asset.media_type == "image/png") try {
        carries_manifest =
            !media::find_texts(media::read_png_metadata_file(path), kManifestKeyword).empty();
      } catch (const std::exception&) {
        carries_manifest = true;  // let verify_png say why it cannot be read
      }
    if (asset.media_type == "image/png" && (job.kind == "generate" || carries_manifest)) {
      add_png_findings(store, path, r, "");
    } else if (asset.media_type.rfind("video/", 0) == 0) {
      std::optional<AssetRow> sidecar;
      for (const InputRef& made : store.assets_made_from(asset.sha256))
        if (made.role == "video") sidecar = store.get_asset(made.sha256);
      if (!sidecar) {
        r.findings.push_back({"manifest", "missing", "no signed video manifest names this video"});
      } else {
        const fs::path mp = files.path_for(sidecar->sha256, sidecar->ext);
        const auto m = sidecar_findings(store, mp, sidecar->name, ManifestKind::video, r);
        if (m) {
          const json v = m->value("video", json::object());
          const bool same = v.is_object() && text_member(v, "sha256") == asset.sha256;
          r.findings.push_back({"video", same ? "match" : "changed",
                                same ? "the signed manifest names this video's sha256"
                                     : "the signed manifest names another video",
                                same});
        }
      }
    } else {
      r.findings.push_back({"signature", "not_signed",
                            "not signed: a " + job.kind + " job's " + asset.media_type +
                                " carries no manifest (the workspace's record vouches for its "
                                "bytes)",
                            true});
    }
    b.files.push_back(std::move(r));
  }
  return b;
}

BatchResult verify_export_dir(Store& store, const fs::path& dir, const std::string& shown_as) {
  const fs::path index_file = dir / "index.json";
  if (!is_regular(index_file))
    throw Unreadable(shown_as +
                     ": not an export folder (no index.json; `atelier export` writes one)");
  json index;
  std::error_code ec;
  if (fs::file_size(index_file, ec) > kMaxSidecarBytes * 8 || ec)
    throw Unreadable((index_file).string() + ": too large for an export index");
  try {
    std::ifstream in(index_file, std::ios::binary);
    index = json::parse(in);
  } catch (const json::exception& e) {
    throw Unreadable(index_file.string() + ": not JSON: " + e.what());
  }
  if (!index.is_object() || !index.value("files", json()).is_array())
    throw Unreadable(index_file.string() + ": not an export index (no \"files\" list)");

  BatchResult b;
  b.target = shown_as;
  struct Entry {
    std::string file, manifest;  // as index.json names them ("" when it does not)
  };
  std::vector<Entry> entries;
  std::set<std::string> listed;
  for (const json& e : index["files"]) {
    entries.push_back(e.is_object() ? Entry{text_member(e, "file"), text_member(e, "manifest")}
                                    : Entry{"", ""});
    listed.insert(entries.back().manifest);
  }
  std::vector<std::string> unlisted;
  for (const auto& de : fs::directory_iterator(dir, ec)) {
    const std::string n = de.path().filename().string();
    const std::string suffix = ".manifest.json";
    if (n.size() > suffix.size() &&
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0 && !listed.count(n))
      unlisted.push_back(n);
  }
  std::sort(unlisted.begin(), unlisted.end());
  for (const std::string& n : unlisted) entries.push_back({"", n});

  for (const Entry& e : entries) {
    VerifyResult r;
    r.file = (dir / (e.file.empty() ? e.manifest : e.file)).string();
    if (!plain_name(e.manifest) || (!e.file.empty() && !plain_name(e.file))) {
      r.file = index_file.string();
      r.findings.push_back({"file", "bad_name",
                            "index.json lists a file that is not a plain name in the folder: " +
                                json(e.file).dump() + " with manifest " + json(e.manifest).dump()});
      b.files.push_back(std::move(r));
      continue;
    }
    const auto m =
        sidecar_findings(store, dir / e.manifest, e.manifest, ManifestKind::export_file, r);
    std::string file = e.file;
    if (m) {
      const std::string signed_file = text_member(*m, "file");
      if (file.empty()) file = signed_file;
      if (signed_file != file || !plain_name(signed_file)) {
        r.findings.push_back({"file", "renamed",
                              "index.json names " + json(file).dump() + ", the signed manifest " +
                                  json(signed_file).dump()});
        b.files.push_back(std::move(r));
        continue;
      }
      r.file = (dir / file).string();
    }
    if (file.empty()) {
      b.files.push_back(std::move(r));
      continue;
    }
    const fs::path path = dir / file;
    if (!is_regular(path)) {
      r.findings.push_back(
          missing_finding(path.string(), absent_reason(path, "the export folder")));
      b.files.push_back(std::move(r));
      continue;
    }
    if (m) {
      r.findings.push_back(bytes_finding(path, text_member(*m, "sha256"), "the signed manifest"));
      if (m->contains("embedded_manifest_sha256")) add_png_findings(store, path, r, "embedded_");
    }
    b.files.push_back(std::move(r));
  }
  for (const json& gone : index.value("missing", json::array())) {
    if (!gone.is_object()) continue;
    VerifyResult r;
    const std::string sha = text_member(gone, "sha256");
    r.file =
        "asset " + shown(sha.substr(0, 16)) + " (stage " + shown(text_member(gone, "stage")) + ")";
    r.findings.push_back(missing_finding(shown(text_member(gone, "expected")),
                                         "missing from the asset store when it was exported"));
    b.files.push_back(std::move(r));
  }
  return b;
}

}  // namespace atelier::provenance
