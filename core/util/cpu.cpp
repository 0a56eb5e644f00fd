// CPU feature detection with CPUID/XGETBV (x86-64); other architectures report no x86 features.
#include "core/util/cpu.h"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define R2Q_X86 1
#endif

namespace r2q {
namespace {

#ifdef R2Q_X86
unsigned long long xgetbv0() {
  unsigned int eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}
#endif

CpuInfo detect() {
  CpuInfo info;
  info.logical_cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
#ifdef R2Q_X86
  unsigned int a, b, c, d;
  char brand[49] = {};
  if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
    for (unsigned int leaf = 0; leaf < 3; ++leaf) {
      __get_cpuid(0x80000002 + leaf, &a, &b, &c, &d);
      std::memcpy(brand + 16 * leaf, &a, 4);
      std::memcpy(brand + 16 * leaf + 4, &b, 4);
      std::memcpy(brand + 16 * leaf + 8, &c, 4);
      std::memcpy(brand + 16 * leaf + 12, &d, 4);
    }
  }
  info.model = brand;
  info.model.erase(0, info.model.find_first_not_of(' '));
  info.model.erase(info.model.find_last_not_of(' ') + 1);

  if (!__get_cpuid(1, &a, &b, &c, &d)) return info;
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28);
  info.fma = c & (1u << 12);
  if (!osxsave || !avx) return info;
  const unsigned long long xcr0 = xgetbv0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;
  const bool zmm_state = (xcr0 & 0xE6) == 0xE6;
  const bool tile_state = (xcr0 & 0x60000) == 0x60000;
  if (!ymm_state) {
    info.fma = false;
    return info;
  }
  __cpuid_count(7, 0, a, b, c, d);
  info.avx2 = b & (1u << 5);
  if (zmm_state) {
    info.avx512f = b & (1u << 16);
    info.avx512bw = b & (1u << 30);
    info.avx512vl = b & (1u << 31);
    info.avx512_vnni = c & (1u << 11);
    info.avx512_vpopcntdq = c & (1u << 14);
  }
  if (tile_state) {
    info.amx_tile = d & (1u << 24);
    info.amx_int8 = d & (1u << 25);
  }
  unsigned int max_sub = a;
  if (max_sub >= 1) {
    __cpuid_count(7, 1, a, b, c, d);
    info.avx_vnni = a & (1u << 4);
  }
#endif
  return info;
}

}  // namespace

std::vector<std::string> CpuInfo::flags() const {
  std::vector<std::string> out;
  auto add = [&](bool present, const char* name) {
    if (present) out.emplace_back(name);
  };
  add(avx2, "avx2");
  add(fma, "fma");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512_vnni, "avx512_vnni");
  add(avx512_vpopcntdq, "avx512_vpopcntdq");
  add(avx_vnni, "avx_vnni");
  add(amx_tile, "amx_tile");
  add(amx_int8, "amx_int8");
  return out;
}

const CpuInfo& cpu_info() {
  static const CpuInfo info = detect();
  return info;
}

double measure_clock_ghz() {
#ifdef R2Q_X86
  // This thread's CPU time, not wall time: a busy machine that shares the core does not slow the clock.
  auto thread_seconds = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
  };
  constexpr long kAddsPerBlock = 100;
  double best = 0;
  for (int trial = 0; trial < 5; ++trial) {
    long blocks = 0, x = 0;
    const double start = thread_seconds();
    double seconds = 0;
    do {
      for (int i = 0; i < 1000; ++i)  // the loop counter is a separate chain and runs alongside
        __asm__ volatile(".rept 100\n\tadd $1, %0\n\t.endr" : "+r"(x));
      blocks += 1000;
      seconds = thread_seconds() - start;
    } while (seconds < 0.01);
    best = std::max(best, static_cast<double>(blocks * kAddsPerBlock) / seconds / 1e9);
  }
  return best;
#else
  return 0;
#endif
}

}  // namespace r2q
