// The stored form of an image's perceptual hashes (AssetHashes, a row's text
// columns) from the hashes media/hash computes. Header-only: only the libraries
// that hash images (and link atelier_image_hash) include it.
#pragma once
#include "media/hash/image_hashes.h"
#include "orchestrator/store.h"

namespace atelier {

inline AssetHashes to_asset_hashes(const media::ImageHashes& h) {
  return {h.pdq.hex(), h.quality, h.colour_hex()};
}

inline media::ImageHashes from_asset_hashes(const AssetHashes& h) {
  media::ImageHashes out;
  out.pdq = media::Pdq256::from_hex(h.phash);
  out.quality = h.quality;
  out.colour = media::ImageHashes::colour_from_hex(h.colour);
  return out;
}

}  // namespace atelier
