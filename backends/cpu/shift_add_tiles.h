// A row of output pixels in tiles, for every kernel's row routine: each ISA's translation unit instantiates
// it with its own flags, in an anonymous namespace (as shift_add_kernel_common.h), so no copy compiled for
// one ISA can be linked into another's path.
#pragma once

namespace r2q::backends::cpu::detail {
namespace {

// tile.template operator()<N>(p) on pixels [p, p + N): tiles of P while P remain, then (P > 4) of 4, then one
// of 3, 2 or 1.
template <int P, class Tile>
void for_each_tile(int pixels, const Tile& tile) {
  int p = 0;
  for (; p + P <= pixels; p += P) tile.template operator()<P>(p);
  if constexpr (P > 4)
    for (; p + 4 <= pixels; p += 4) tile.template operator()<4>(p);
  switch (pixels - p) {
    case 3:
      tile.template operator()<3>(p);
      break;
    case 2:
      tile.template operator()<2>(p);
      break;
    case 1:
      tile.template operator()<1>(p);
      break;
    default:
      break;
  }
}

}  // namespace
}  // namespace r2q::backends::cpu::detail
