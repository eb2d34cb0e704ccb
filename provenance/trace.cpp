// Finding what a file is; see trace.h.
#include "provenance/trace.h"

#include <fstream>

#include "common/errors.h"
#include "media/hash/colour_layout.h"
#include "media/png_meta.h"
#include "media/png_reduced.h"
#include "orchestrator/asset_hashes.h"
#include "orchestrator/ids.h"
#include "orchestrator/model_files.h"
#include "provenance/generation_manifest.h"
#include "provenance/manifest_format.h"
#include "provenance/signing.h"

namespace atelier::provenance {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// How far the manifest's signature vouches for it.
std::string signature_note(Store& store, const std::string& text, const json& m) {
  if (json_nesting_depth(text) > kMaxManifestDepth) return "not checked: nested too deeply";
  const SignatureCheck sc = check_manifest_signature(m);
  switch (sc.status) {
    case SignatureCheck::valid: {
      // An imported partner key is trusted but is not this workspace's own.
      const auto key = store.find_signing_key(sc.key_id);
      if (!key) return "valid, by key " + sc.key_id + ", which this workspace does not trust";
      if (key->origin == "workspace") return "valid, by this workspace's key " + sc.key_id;
      return "valid, by imported key " + sc.key_id +
             (key->label.empty() ? "" : " (" + key->label + ")");
    }
    case SignatureCheck::unsigned_manifest:
      return "unsigned";
    case SignatureCheck::mismatch:
      return "INVALID: the manifest was changed after it was signed by key " + sc.key_id;
    default:
      return "malformed: " + sc.reason;
  }
}

}  // namespace

bool is_png_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  char sig[8] = {};
  in.read(sig, 8);
  return in.gcount() == 8 && std::string(sig, 8) == std::string("\x89PNG\r\n\x1a\n", 8);
}

StoredImageIndex::StoredImageIndex(const std::vector<std::pair<std::string, AssetHashes>>& stored) {
  for (const auto& [sha, row] : stored) {
    media::ImageHashes h = from_asset_hashes(row);
    if (!h.hashable()) continue;
    index_.add(h.pdq);
    shas_.push_back(sha);
    hashes_.push_back(h);
  }
}

std::optional<StoredImageIndex::Nearest> StoredImageIndex::nearest(
    const media::ImageHashes& query) const {
  // Within the radius the multi-index search answers; beyond it, only the
  // message of a failed trace needs the nearest, and that is a scan.
  auto near = index_.search(query.pdq, kTraceRadius);
  std::optional<media::HashIndex::Match> best;
  if (!near.empty())
    best = near.front();
  else
    best = index_.nearest(query.pdq);
  if (!best) return std::nullopt;
  return Nearest{shas_[best->id], best->distance, hashes_[best->id]};
}

std::optional<Located> find_by_manifest(Store& store, const AssetStore& files, const fs::path& file,
                                        json& notes) {
  if (!is_png_file(file)) return std::nullopt;
  std::vector<std::string> texts;
  try {
    texts = media::find_texts(media::read_png_metadata_file(file), kManifestKeyword);
  } catch (const std::exception& e) {
    notes["manifest"] = std::string("unreadable: ") + e.what();
    return std::nullopt;
  }
  if (texts.empty()) return std::nullopt;
  // An ambiguous manifest names nothing: which job it names depends on the reader.
  if (texts.size() > 1) {
    notes["manifest"] = "present " + std::to_string(texts.size()) + " times (ambiguous)";
    return std::nullopt;
  }
  const std::optional<std::string> text = texts[0];
  ManifestText parsed = parse_manifest_text(*text, "the manifest");
  if (!parsed.value) {
    notes["manifest"] = parsed.status == "ambiguous" ? "present but ambiguous (a repeated key)"
                                                     : "present but not JSON";
    return std::nullopt;
  }
  const json m = std::move(*parsed.value);
  if (!m.contains("job") || !m["job"].is_number_integer() || !m.contains("pixels_sha256") ||
      !m["pixels_sha256"].is_string()) {
    notes["manifest"] = "present but without a job and pixels_sha256";
    return std::nullopt;
  }
  const std::string pixels = m["pixels_sha256"].get<std::string>();
  const std::string signature = signature_note(store, *text, m);
  const int64_t job = m["job"].get<int64_t>();
  for (const AssetRow& out : store.job_output_assets(job)) {
    if (out.media_type != "image/png") continue;
    try {
      auto t = media::find_text(media::read_png_metadata_file(files.path_for(out.sha256, out.ext)),
                                kManifestKeyword);
      if (t && json::parse(*t).value("pixels_sha256", "") == pixels)
        return Located{out.sha256,
                       "manifest",
                       {{"job", job_ref(job)},
                        {"pixels_sha256", pixels},
                        {"signature", signature},
                        {"note",
                         "the file's embedded manifest names this job and these pixels; "
                         "its bytes differ from the stored asset"}}};
    } catch (const std::exception&) {
      continue;  // a stored output that cannot be read is not this file's match
    }
  }
  notes["manifest"] =
      "names " + job_ref(job) + ", which has no output with the recorded pixels in this workspace";
  return std::nullopt;
}

Located find_by_similarity(Store& store, const fs::path& file, const media::Image& image,
                           const json& notes) {
  const media::ImageHashes h = media::hash_image(image);
  if (!h.hashable())
    throw Failure("provenance: " + file.string() + " is not in this workspace (no asset has its " +
                  "sha256" + (notes.empty() ? "" : ", " + notes.value("manifest", "")) +
                  ") and it is unhashable (quality " + std::to_string(h.quality) +
                  "), so no similar image can be looked for");
  const StoredImageIndex index(store.hashed_assets());
  const auto nearest = index.nearest(h);
  if (nearest && nearest->pdq_distance <= kTraceRadius) {
    json d = {{"pdq_distance", nearest->pdq_distance},
              {"colour_distance", media::colour_gate_distance(nearest->hashes.colour, h.colour)},
              {"radius", kTraceRadius},
              {"note",
               "a similarity match, not proof of identity: the nearest stored image by "
               "perceptual hash"}};
    if (notes.contains("manifest")) d["manifest"] = notes["manifest"];
    return {nearest->sha256, "similarity", d};
  }
  throw Failure("provenance: " + file.string() +
                " matches nothing in this workspace: no asset has its sha256, " +
                (notes.contains("manifest") ? notes["manifest"].get<std::string>()
                                            : std::string("it carries no Atelier manifest")) +
                ", and " +
                (!nearest ? std::string("no stored image is hashed")
                          : "the nearest image, " + nearest->sha256.substr(0, 16) + ", is " +
                                std::to_string(nearest->pdq_distance) + " bits of 256 away"));
}

Located locate(Store& store, const AssetStore& files, const std::string& target,
               const OtherImageDecoder& decode_other) {
  const fs::path file(target);
  if (is_sha256_hex(target) && !fs::exists(file)) return {target, "sha256"};
  if (!fs::is_regular_file(file))
    throw InputError("provenance: " + target + ": no such file (or give a sha256)");
  const std::string sha = sha256_file(file);
  if (store.get_asset(sha) || store.find_model(sha)) return {sha, "sha256"};
  json notes = json::object();
  if (auto m = find_by_manifest(store, files, file, notes)) return *m;
  media::Image img;
  try {
    // Reduced as every hashing path reduces, so memory stays bounded.
    img = is_png_file(file) ? media::read_png_reduced(file, media::kHashDecodePixels).image
                            : decode_other(file);
  } catch (const media::ImageError& e) {
    throw InputError(std::string("provenance: ") + e.what());
  }
  return find_by_similarity(store, file, img, notes);
}

}  // namespace atelier::provenance
