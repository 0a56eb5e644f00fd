// A command's output file (`-o FILE`): checked before the command does its work, written at its end, never at
// the expense of a file the command reads.
#pragma once

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace r2q {

class OutputFile {
 public:
  // `option` names the flag in messages ("-o"). `inputs` are the files the command reads (its store, a model
  // file); an output that is one of them, through any link or name, is refused, and so are an SQLite store's
  // -wal, -shm and -journal files beside an input. Also refused, as InputError naming the option and the
  // path: an empty path, a directory or a path ending in '/', a path whose directory does not exist.
  //   "-"                              standard output
  //   an existing FIFO, character device or socket
  //                                    written as a stream, in place: never replaced by a regular file
  //   a symbolic link                  the file it points to is replaced; the link stays
  //   otherwise                        replaced atomically (write_file_atomically): a crash leaves the old
  //                                    content or the new
  OutputFile(std::string option, std::filesystem::path path,
             const std::vector<std::filesystem::path>& inputs = {});

  // The path as the user gave it.
  const std::filesystem::path& path() const { return path_; }
  bool is_stdout() const { return kind_ == Kind::Stdout; }

  // Writes the content that `body` puts on the stream. A failure names the user's path (RunError).
  void write(const std::function<void(std::ostream&)>& body) const;

 private:
  enum class Kind { Stdout, Stream, File };
  std::string option_;
  std::filesystem::path path_;
  std::filesystem::path target_;  // the file replaced or written: the path with symbolic links resolved
  Kind kind_ = Kind::File;
};

}  // namespace r2q
