// Bounds shared by several kinds' declarations.
#pragma once

namespace atelier {

// Seeds are whole numbers a JSON double holds exactly (2^53), so a seed read
// back from a manifest or a spec is the seed that was used.
inline constexpr double kMaxSeed = 9007199254740992.0;

}  // namespace atelier
