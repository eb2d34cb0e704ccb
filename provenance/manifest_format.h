// Reading a manifest's text without ambiguity, and the rules each manifest format
// keeps: which fields it may hold and which it must.
//
// Formats. The "format" member names the kind of manifest and its version:
//   atelier-manifest/1, atelier-export-manifest/1  written before format 2 (the
//       video sidecar also said atelier-manifest/1, told apart by its "video");
//   atelier-manifest/2 (a generated PNG's; adds parameters_sha256, the sha256 of
//       the PNG's `parameters` text, so that text is signed),
//   atelier-video-manifest/2, atelier-export-manifest/2.
// A manifest without "format", or with one this atelier does not know, is refused.
// The format is inside the signed bytes, so it cannot be lowered without
// breaking the signature.
//
// Invariants (every version): the text must parse to one meaning. A key repeated
// in any object (a reader keeping the first and one keeping the last would see
// different manifests) is refused before anything else is judged, as is text
// nested deeper than kMaxManifestDepth (refused before parsing). Every field a
// format does not define is refused, at any depth the format describes; members
// that hold user data (params, matrix) are free. Format 2 also requires every
// field it defines (version 1 records predate some fields, e.g. batch, so they
// are not required there). The signature member's own rules are signing.h's.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atelier::provenance {

inline constexpr const char* kGenerationFormat = "atelier-manifest/2";
inline constexpr const char* kVideoFormat = "atelier-video-manifest/2";
inline constexpr const char* kExportFormat = "atelier-export-manifest/2";

enum class ManifestKind { generation, video, export_file };

struct ManifestFormat {
  ManifestKind kind = ManifestKind::generation;
  int version = 0;   // 1 or 2
  std::string name;  // the "format" value as written
};

// The text parsed, or why not: `status` "not_json" (not JSON, nested too
// deeply, not an object) or "ambiguous" (a key repeated in one object, named
// with the path of its object: `key prompt appears twice in generation`).
// `what` names the text in messages ("the manifest (iTXt chunk 'atelier')").
struct ManifestText {
  std::optional<nlohmann::json> value;
  std::string status;  // empty when value is set
  std::string why;
};
ManifestText parse_manifest_text(std::string_view text, const std::string& what);

// The manifest's format, or nullopt with `why` (no format member, not text, or
// a format this atelier does not know).
std::optional<ManifestFormat> manifest_format(const nlohmann::json& manifest, std::string& why);

// What the manifest holds that its format does not define, lacks that format 2
// requires, or holds with the wrong JSON type: one line per problem, naming the
// field by its path ("generation.comment", "models[1].scale"); empty when none.
// "signature" is left to check_manifest_signature.
std::vector<std::string> field_problems(const nlohmann::json& manifest, const ManifestFormat& f);

}  // namespace atelier::provenance
