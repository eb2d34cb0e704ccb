#include "imports.h"

#include <glob.h>

#include <algorithm>
#include <fstream>

#include "common/errors.h"
#include "common/utf8.h"
#include "kinds/catalog.h"
#include "media/content_type.h"
#include "media/hash/stored_hashes.h"
#include "orchestrator/asset_hashes.h"

namespace atelier {
namespace fs = std::filesystem;

namespace {

std::optional<std::string> licence_beside(const fs::path& file, const FileScope* scope) {
  const fs::path licence = file.parent_path() / "licence.txt";
  if (std::error_code ec; !fs::exists(licence, ec)) return std::nullopt;
  if (scope) scope->check_read(licence, "licence.txt");
  std::ifstream in(licence);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) return line;
  }
  return std::nullopt;
}

std::vector<fs::path> expand_one_unchecked(const std::string& text, const fs::path& base) {
  fs::path p = fs::path(text).is_absolute() ? fs::path(text) : base / text;
  std::vector<fs::path> out;
  if (text.find_first_of("*?[") != std::string::npos) {
    glob_t g{};
    if (::glob(p.c_str(), 0, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i)
        if (fs::is_regular_file(g.gl_pathv[i])) out.emplace_back(g.gl_pathv[i]);
    }
    ::globfree(&g);
    if (out.empty())
      throw InputError("no files match '" + text + "' (looked in " + base.string() + ")");
  } else if (fs::is_directory(p)) {
    for (const auto& e : fs::directory_iterator(p)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && name[0] != '.' && name != "licence.txt") out.push_back(e.path());
    }
    if (out.empty()) throw InputError("folder '" + text + "' has no files (" + p.string() + ")");
  } else if (fs::is_regular_file(p)) {
    out.push_back(p);
  } else {
    throw InputError("file not found: '" + text + "' (" + p.string() + ")");
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A symlink loop, a folder that cannot be read: an input error naming the path,
// which the caller places at the parameter's file:line:col.
// A name shown with every byte outside printable ASCII as \xNN.
std::string escaped_name(const std::string& name) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

std::vector<fs::path> expand_one(const std::string& text, const fs::path& base) {
  std::vector<fs::path> out;
  try {
    out = expand_one_unchecked(text, base);
  } catch (const fs::filesystem_error& e) {
    throw InputError("'" + text + "': " + e.path1().string() + ": " + e.code().message());
  }
  // Names travel in manifests, JSON and the dashboard, which hold text: refuse
  // one that is not UTF-8 here, naming it, rather than fail later half-imported.
  for (const fs::path& f : out)
    if (!valid_utf8(f.string()))
      throw InputError("'" + text + "': the file name " + escaped_name(f.string()) +
                       " is not valid UTF-8 (rename it)");
  return out;
}

}  // namespace

std::string media_type_for(const fs::path& p) {
  // An image is an image whatever its name (media/content_type.h), so a renamed
  // image is hashed and checked as one. Anything else keeps the type its name
  // gives: a file named as an image that is not one is then refused, by name, by
  // the kind that decodes it, and not_checked by the checks, which type by content.
  try {
    const media::ContentType content = media::sniff_file(p);
    if (content.image()) return content.media_type;
  } catch (const std::exception&) {
    // unreadable here: put_file names the error
  }
  return media_type_by_name(p);
}

std::string media_type_by_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  static const std::pair<const char*, const char*> known[] = {
      {".png", "image/png"},   {".jpg", "image/jpeg"},       {".jpeg", "image/jpeg"},
      {".webp", "image/webp"}, {".gif", "image/gif"},        {".mp3", "audio/mpeg"},
      {".wav", "audio/wav"},   {".m4a", "audio/mp4"},        {".aac", "audio/aac"},
      {".ogg", "audio/ogg"},   {".flac", "audio/flac"},      {".txt", "text/plain"},
      {".mp4", "video/mp4"},   {".json", "application/json"}};
  for (const auto& [e, type] : known)
    if (ext == e) return type;
  return "application/octet-stream";
}

std::string stored_ext(const fs::path& p) {
  std::string ext = p.extension().string();
  if (!ext.empty()) ext = ext.substr(1);
  const bool plain =
      !ext.empty() && ext.size() <= 10 && std::all_of(ext.begin(), ext.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      });
  if (!plain) return "bin";
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext;
}

std::vector<ResolvedFile> resolve_files(const json& value, const fs::path& base,
                                        const FileScope* scope) {
  std::vector<ResolvedFile> out;
  auto add = [&](const json& e) {
    std::optional<std::string> licence;
    std::string path;
    if (e.is_string()) {
      path = e.get<std::string>();
    } else {
      path = e["path"].get<std::string>();
      if (e.contains("licence")) licence = e["licence"].get<std::string>();
    }
    for (const fs::path& p : expand_one(path, base)) {
      if (scope) scope->check_read(p, "'" + path + "'");
      out.push_back({p, licence ? licence : licence_beside(p, scope)});
    }
  };
  if (value.is_array()) {
    for (const json& e : value) add(e);
  } else {
    add(value);
  }
  return out;
}

void import_spec_files(PipelineSpec& spec, AssetStore* files, Store* store, const FileScope* scope,
                       const std::string& imported_by) {
  const fs::path base = fs::absolute(spec.path).parent_path();
  // Every stage's files are found and checked before any is imported, so a spec
  // refused for one bad path leaves no asset rows behind.
  std::vector<std::pair<json*, std::vector<ResolvedFile>>> pending;
  for (StageSpec& s : spec.stages) {
    const KindSpec* kind = find_kind(s.kind);
    if (!kind) continue;
    for (const ParamSpec& p : kind->params) {
      if (p.output_folder && scope && s.with.contains(p.name) && s.with[p.name].is_string()) {
        // Judged here too so a refused folder refuses the submission, not its
        // job; the job judges it again when it writes (links may change).
        fs::path dir = s.with[p.name].get<std::string>();
        if (dir.is_relative()) dir = scope->workspace() / dir;
        try {
          scope->check_write(dir, p.name);
        } catch (const InputError& e) {
          throw InputError(at_pos(spec.path, s.with_pos[p.name]) + "stage '" + s.id +
                           "': " + e.what());
        }
      }
      if (p.type != ParamType::files || !s.with.contains(p.name)) continue;
      json& value = s.with[p.name];
      if (value.is_object() && value.contains("$ref")) continue;  // resolved when the job runs
      std::vector<ResolvedFile> found;
      try {
        found = resolve_files(value, base, scope);
      } catch (const InputError& e) {
        const SourcePos pos = s.with_pos[p.name];
        throw InputError(at_pos(spec.path, pos) + "stage '" + s.id + "': " + p.name + ": " +
                         e.what());
      }
      pending.emplace_back(&value, std::move(found));
    }
  }
  if (!store || !files) return;
  for (auto& [value, found] : pending) {
    json imported = json::array();
    for (const ResolvedFile& f : found) {
      const std::string ext = stored_ext(f.path);
      StoredFile stored = files->put_file(f.path, ext);
      ImportedAsset asset{stored.sha256,   media_type_for(f.path), ext,
                          f.path.string(), stored.bytes,           f.licence};
      asset.imported_by = imported_by;
      if (asset.media_type == "image/png")
        if (auto h = media::hash_png_file(files->path_for(stored.sha256, ext))) {
          asset.hashes = to_asset_hashes(h->hashes);
          asset.width = h->width;
          asset.height = h->height;
        }
      store->import_asset(asset);
      json entry = {{"sha256", stored.sha256}, {"source", f.path.string()}};
      if (f.licence) entry["licence"] = *f.licence;
      imported.push_back(std::move(entry));
    }
    *value = std::move(imported);
  }
}

}  // namespace atelier
