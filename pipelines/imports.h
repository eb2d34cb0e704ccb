// Files named in a spec (`images: brand/`, `audio: jingle.mp3`, or any param a
// kind declares as `files`) become assets at submission: each file is copied
// into the content-addressed store and recorded with its source path and
// licence (given as {path, licence}, or the first line of a licence.txt beside
// the files), and the param's value becomes [{sha256, source, licence}], so
// lineage starts at the brand's own files. PNGs get their perceptual hashes here.
#pragma once
#include <filesystem>

#include "orchestrator/asset_store.h"
#include "orchestrator/file_scope.h"
#include "orchestrator/store.h"
#include "spec.h"

namespace atelier {

struct ResolvedFile {
  std::filesystem::path path;
  std::optional<std::string> licence;
};

// Resolves every files param of every stage (paths relative to the spec's
// folder: a file, a folder, a glob, or a list of them). Throws InputError with
// the spec's file:line:col when something matches nothing, or when `scope`
// (file_scope.h) refuses a file, a licence.txt or an output folder param. With
// `store` null nothing is written (validate, dry run); otherwise files are
// imported (recorded as imported by `imported_by`) and the params rewritten.
void import_spec_files(PipelineSpec& spec, AssetStore* files, Store* store,
                       const FileScope* scope = nullptr, const std::string& imported_by = {});

std::vector<ResolvedFile> resolve_files(const json& value, const std::filesystem::path& base,
                                        const FileScope* scope = nullptr);
// The media type an imported file is recorded with: an image's by its content
// (media/content_type.h), whatever its name, so a renamed image is an image; any
// other file's by its extension (media_type_by_name).
std::string media_type_for(const std::filesystem::path& p);
std::string media_type_by_name(const std::filesystem::path& p);
// The extension an imported file is stored and served under: its own, lower
// case, when it is 1 to 10 letters and digits; else "bin". A name is user data
// and the extension reaches file names and response headers.
std::string stored_ext(const std::filesystem::path& p);

}  // namespace atelier
