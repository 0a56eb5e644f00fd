// What this CPU can do, from CPUID and the OS-enabled register state (XGETBV). Used to record the environment
// of every run and to choose kernels at run time.
#pragma once

#include <string>
#include <vector>

namespace r2q {

struct CpuInfo {
  std::string model;
  int logical_cores = 0;
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512_vnni = false, avx512_vpopcntdq = false;
  bool avx_vnni = false, amx_tile = false, amx_int8 = false;
  std::vector<std::string> flags() const;  // names of the features present
};

const CpuInfo& cpu_info();

// The core clock while busy, in GHz, measured: a chain of dependent integer adds (one cycle each on every
// x86-64 core) timed by the thread's CPU time over 10 ms, best of 5 (so other load on the machine does not
// lower it). Includes turbo; 0 where it cannot be measured (not x86).
double measure_clock_ghz();

}  // namespace r2q
