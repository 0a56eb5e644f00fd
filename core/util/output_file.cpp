// Output files: the checks that keep `-o` from destroying what a command reads, and the two ways of writing.
#include "core/util/output_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

#include "core/util/error.h"
#include "core/util/files.h"

namespace r2q {
namespace {

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// The path with every symbolic link resolved, a dangling last one included (weakly_canonical stops at a link
// whose target does not exist yet); "" when that fails or the links loop.
std::filesystem::path resolved(std::filesystem::path p) {
  std::error_code ec;
  for (int hops = 0; std::filesystem::is_symlink(p, ec); ++hops) {
    if (hops == 40) return {};
    const auto target = std::filesystem::read_symlink(p, ec);
    if (ec) return {};
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
  auto r = std::filesystem::weakly_canonical(std::filesystem::absolute(p, ec), ec);
  return ec ? std::filesystem::path() : r;
}

}  // namespace

OutputFile::OutputFile(std::string option, std::filesystem::path path,
                       const std::vector<std::filesystem::path>& inputs)
    : option_(std::move(option)), path_(std::move(path)) {
  const std::string shown = option_ + " " + (path_.empty() ? "''" : path_.string());
  if (path_.empty()) throw InputError(option_ + ": the output path is empty");
  if (path_ == "-") {
    kind_ = Kind::Stdout;
    return;
  }
  if (!path_.has_filename())
    throw InputError(shown + ": names a directory (it ends in '/'); give a file name");
  struct stat out {};
  const bool exists = ::stat(path_.c_str(), &out) == 0;
  if (exists && S_ISDIR(out.st_mode)) throw InputError(shown + ": is a directory; give a file name");
  target_ = resolved(path_);
  if (target_.empty()) target_ = path_;
  if (!exists) {
    const auto dir = target_.parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
      throw InputError(shown + ": the directory " + path_.parent_path().string() + " does not exist");
  }
  // A FIFO, a device or a socket is written in place; so is anything under /dev or /proc (/dev/stdout
  // redirected to a file resolves to that file, which the shell holds open).
  const std::string t = target_.string();
  const bool special = t.starts_with("/dev/") || t.starts_with("/proc/");
  kind_ = (exists && !S_ISREG(out.st_mode)) || special ? Kind::Stream : Kind::File;

  for (const auto& input : inputs) {
    struct stat in {};
    if (exists && ::stat(input.c_str(), &in) == 0 && same_file(in, out))
      throw InputError(shown + ": is " + input.string() +
                       ", which this command reads; writing there would destroy it. Choose another file");
    const auto canonical = resolved(input);
    if (canonical.empty()) continue;
    for (const char* suffix : {"-wal", "-shm", "-journal"})
      if (target_ == canonical.string() + suffix)
        throw InputError(shown + ": is the " + std::string(suffix + 1) + " file of " + input.string() +
                         ", which this command reads; choose another file");
  }
}

void OutputFile::write(const std::function<void(std::ostream&)>& body) const {
  if (kind_ == Kind::Stdout) {
    body(std::cout);
    std::cout.flush();
    if (!std::cout) throw RunError(option_ + " -: cannot write to standard output");
    return;
  }
  auto fill = [&](const std::filesystem::path& file, std::ios::openmode mode) {
    std::ofstream out(file, mode);
    if (!out) throw RunError(option_ + " " + path_.string() + ": cannot open: " + std::strerror(errno));
    body(out);
    out.close();
    if (!out) throw RunError(option_ + " " + path_.string() + ": cannot write: " + std::strerror(errno));
  };
  if (kind_ == Kind::Stream) {
    fill(target_, std::ios::binary | std::ios::out);
    return;
  }
  try {
    write_file_atomically(
        target_, [&](const std::filesystem::path& tmp) { fill(tmp, std::ios::binary | std::ios::trunc); });
  } catch (const std::filesystem::filesystem_error& e) {
    throw RunError(option_ + " " + path_.string() + ": cannot replace the file: " + e.code().message());
  }
}

}  // namespace r2q
