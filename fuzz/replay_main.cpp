// Replays inputs through a fuzz target's entry point without libFuzzer: every file given, and every file
// under every directory given (sorted, so the order is fixed). Linked with each fuzz_<target>.cpp into
// fuzz_replay_<target>, which ctest runs over the target's seed and regression corpora in every build, so an
// input a fuzzer once found keeps being tested where libFuzzer is not available. The targets catch r2q's own
// errors; anything else that escapes is a finding here too: the file is named and the exit status is 1. A
// crash or a sanitizer report ends the process, after the line naming the file.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::filesystem::path> inputs_of(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(path)) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path))
      if (entry.is_regular_file() && entry.path().filename().string()[0] != '.')
        files.push_back(entry.path());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " FILE_OR_DIR...  (replays each input through the fuzz target)\n";
    return 2;
  }
  int replayed = 0, findings = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path root = argv[i];
    if (!std::filesystem::exists(root)) {
      std::cerr << root.string() << ": no such file or directory\n";
      return 2;
    }
    for (const auto& file : inputs_of(root)) {
      std::ifstream in(file, std::ios::binary);
      const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      if (!in.good() && !in.eof()) {
        std::cerr << file.string() << ": cannot read\n";
        return 2;
      }
      std::cout << "replay: " << file.string() << " (" << bytes.size() << " bytes)" << std::endl;
      try {
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      } catch (const std::exception& e) {
        std::cerr << "FINDING: " << file.string() << ": an exception escaped the target: " << e.what()
                  << "\n";
        ++findings;
      } catch (...) {
        std::cerr << "FINDING: " << file.string() << ": a non-standard exception escaped the target\n";
        ++findings;
      }
      ++replayed;
    }
  }
  std::cout << "replayed " << replayed << " input(s), " << findings << " finding(s)\n";
  return findings ? 1 : 0;
}
