// Finding what a file is, for `atelier provenance`: a sha256 given as such; else
// the file's exact sha256 among the workspace's assets and models; else its
// embedded Atelier manifest (the job it names, then that job's output whose own
// manifest records the same pixels: the file was re-encoded or had its metadata
// edited); else the nearest perceptual hash among the workspace's hashed images
// (media/hash/hash_index.h), always reported as a similarity match with its
// distances, never as identity.
//
// Invariants: a manifest is evidence only as far as its signature goes, so a
// manifest match says how far (valid and trusted, valid by an unknown key,
// unsigned, changed after signing). The similarity radius is wider than the
// copyright check's: the question is "which of ours is this most likely to be",
// and the answer carries how sure it is; unrelated images sit around 128 bits
// apart. Decoding formats other than PNG needs OpenCV's codecs, which this
// library does not link: the caller passes a decoder for them.
#pragma once
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "media/hash/hash_index.h"
#include "media/hash/image_hashes.h"
#include "media/png_io.h"
#include "orchestrator/asset_store.h"
#include "orchestrator/store.h"

namespace atelier::provenance {

inline constexpr int kTraceRadius = 64;  // PDQ bits of 256

struct Located {
  std::string sha256;
  std::string how;  // sha256, manifest, similarity
  nlohmann::json detail = nlohmann::json::object();
};

// Decodes an image that is not a PNG for hashing, at most media::kHashDecodePixels
// (may not return: `atelier` hands such files to atelier-ml). Throws
// media::ImageError for a file it cannot decode.
using OtherImageDecoder = std::function<media::Image(const std::filesystem::path&)>;

bool is_png_file(const std::filesystem::path& file);

// The stored images' hashes (unhashable ones left out), indexed for search.
class StoredImageIndex {
 public:
  explicit StoredImageIndex(const std::vector<std::pair<std::string, AssetHashes>>& stored);
  struct Nearest {
    std::string sha256;
    int pdq_distance = 0;
    media::ImageHashes hashes;
  };
  // The nearest stored image by PDQ distance (the first stored among equals).
  std::optional<Nearest> nearest(const media::ImageHashes& query) const;
  size_t size() const { return shas_.size(); }

 private:
  media::HashIndex index_;
  std::vector<std::string> shas_;           // by index id
  std::vector<media::ImageHashes> hashes_;  // by index id
};

// The job output an embedded manifest points to, or nullopt with why in
// notes["manifest"] (absent when the file carries no manifest at all).
std::optional<Located> find_by_manifest(Store& store, const AssetStore& files,
                                        const std::filesystem::path& file, nlohmann::json& notes);

// The nearest stored image within kTraceRadius. Throws Failure naming the nearest
// (and `notes`) when there is none, or when the image is unhashable.
Located find_by_similarity(Store& store, const std::filesystem::path& file,
                           const media::Image& image, const nlohmann::json& notes);

// `target` as above. Throws InputError for a missing file or one no decoder reads,
// Failure when nothing matches.
Located locate(Store& store, const AssetStore& files, const std::string& target,
               const OtherImageDecoder& decode_other);

}  // namespace atelier::provenance
