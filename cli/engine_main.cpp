// r2q-engine: every r2q command, LibTorch included. `r2q` executes it for the commands that train, evaluate
// or deploy models; it can also be run directly, with the same arguments.
#include <ATen/Parallel.h>

#include "cli/common.h"

int main(int argc, char** argv) {
  // Before LibTorch computes anything (OpenBLAS has read its variables already: hence a restart if needed).
  r2q::cli::ensure_math_environment(argc, argv);
  // One inter-op thread: r2q parallelises inside operators (set per run) and across processes (sweep -j).
  at::set_num_interop_threads(1);
  return r2q::cli::dispatch(argc, argv);
}
