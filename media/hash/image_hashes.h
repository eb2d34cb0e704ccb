// The hashes every stored image asset gets, and the normalisation they are taken
// after, so that an edited copy hashes like its original:
//
// 1. Alpha is composited over white.
// 2. Uniform margins are peeled, one colour layer at a time: an added frame, then the
//    background around the subject (a frame goes all round; the first layer that
//    does not is the background, and peeling stops there).
// 3. The subject's frame is the span between the 5% and 95% quantiles of its mass
//    (squared colour difference from the background) on each axis, widened by 15%.
// 4. The frame is resampled onto a 64x64 canvas, background outside the peeled box.
// 5. PDQ of the canvas plus a fixed dither pattern (0.15 of the canvas's own
//    coefficient RMS), so that coefficients near PDQ's median take a fixed bit
//    instead of noise; quality is PDQ's, on the canvas's luma range stretched by a
//    gain of at most 2; the colour layout is the canvas's.
//
// Invariants: the hashes are a pure function of the pixels, so hashes stored in the
// database compare directly with fresh ones (as long as OpenCV's resize and
// warpAffine give the same pixels); `pdq` is NOT the reference PDQ of the file; images
// with a side under kPdqMinSide and flat images get quality 0, an all-zero PDQ hash
// and the colour layout of the whole image; a hash of quality under kPdqMinQuality
// is all zeros.
#pragma once
#include <string>

#include "media/hash/colour_layout.h"
#include "media/hash/pdq.h"
#include "media/png_io.h"

namespace atelier::media {

// Side of the square canvas both hashes are taken on.
inline constexpr int kNormalisedSide = 64;

struct ImageHashes {
  Pdq256 pdq;
  int quality = 0;
  ColourLayout colour{};

  bool hashable() const { return quality >= kPdqMinQuality; }
  // 96 hexadecimal digits, one byte per value: L in steps of 100/255, a and b in unit
  // steps offset by 128 (clamped to -128..127, wider than sRGB's gamut). A colour read
  // back is within 0.74 delta E of the one hashed (0.2 in L, 0.5 in a and in b).
  std::string colour_hex() const;
  // Throws std::invalid_argument naming the problem unless `hex` is 96 hex digits.
  static ColourLayout colour_from_hex(const std::string& hex);
};

// `img`: 8-bit, 1 (gray), 3 (RGB) or 4 (RGBA) channels. Throws std::invalid_argument
// for another channel count, an empty image or a pixel buffer of the wrong size.
ImageHashes hash_image(const Image& img);

// The 64x64 RGB canvas hash_image hashes (for tests and for looking at a match), or a
// 0x0 Image for an image too small or flat to have one. Throws as hash_image does.
Image normalise_for_hashing(const Image& img);

}  // namespace atelier::media
