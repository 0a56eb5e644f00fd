// r2q: train, attack, deploy and compare 2-bit quantized networks. This executable holds the commands that
// only read or merge stores (report, verify, list, merge, status, backends) and starts in milliseconds; the
// commands that need LibTorch run in r2q-engine, installed beside it, which it executes in its place
// (cli/engine.cpp).
#include "cli/common.h"

#ifdef R2Q_WITH_MIMALLOC
#include <mimalloc.h>
#endif

int main(int argc, char** argv) {
#ifdef R2Q_WITH_MIMALLOC
  // A reference, so that the linker keeps libmimalloc (and with it the malloc it overrides) even with
  // --as-needed.
  (void)mi_version();
#endif
  return r2q::cli::dispatch(argc, argv);
}
