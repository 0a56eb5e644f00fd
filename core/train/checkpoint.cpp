// Checkpoints through torch::serialize archives.
#include "core/train/checkpoint.h"

#include <fcntl.h>
#include <torch/serialize.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/util/error.h"
#include "core/util/files.h"

namespace r2q::train {

namespace {

// Writes the archive through our own file descriptor, so that a failed write (a full disk) is reported with
// its cause. LibTorch's own file writer reports a short write by throwing from the archive writer's
// destructor, which terminates the process; this writer instead takes every byte, remembers the first error,
// and throws once LibTorch is done. `file` is the temporary file; messages name the checkpoint.
void write_archive(torch::serialize::OutputArchive& archive, const std::filesystem::path& file,
                   const std::filesystem::path& checkpoint) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw RunError(checkpoint.string() + ": cannot create the checkpoint: " + std::strerror(errno));
  int write_errno = 0;
  try {
    archive.save_to([&](const void* data, size_t size) -> size_t {
      const char* bytes = static_cast<const char*>(data);
      for (size_t left = size; left > 0 && write_errno == 0;) {
        const ssize_t written = ::write(fd, bytes + (size - left), left);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0)
          write_errno = written < 0 ? errno : EIO;
        else
          left -= static_cast<size_t>(written);
      }
      return size;
    });
  } catch (const std::exception& e) {
    ::close(fd);
    const std::string what = e.what();
    throw RunError(checkpoint.string() + ": cannot write the checkpoint: " + what.substr(0, what.find('\n')));
  }
  if (::close(fd) != 0 && write_errno == 0) write_errno = errno;
  if (write_errno != 0)
    throw RunError(checkpoint.string() + ": cannot write the checkpoint: " + std::strerror(write_errno));
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const std::string& run_key, models::Network& model,
                     torch::optim::Optimizer& optimizer, const CheckpointState& state,
                     const torch::nn::Module* losses) {
  torch::serialize::OutputArchive archive, model_archive, optimizer_archive, losses_archive;
  model.save(model_archive);
  optimizer.save(optimizer_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  if (losses) {
    losses->save(losses_archive);
    archive.write("losses", losses_archive);
  }
  archive.write("run_key", c10::IValue(run_key));
  archive.write("epoch", c10::IValue(static_cast<int64_t>(state.epoch)));
  archive.write("train_seconds", c10::IValue(state.train_seconds));
  archive.write("images_seen", c10::IValue(state.images_seen));
  std::filesystem::create_directories(path.parent_path());
  write_file_atomically(path, [&](const std::filesystem::path& tmp) { write_archive(archive, tmp, path); });
}

std::optional<CheckpointState> load_checkpoint(const std::filesystem::path& path, const std::string& run_key,
                                               models::Network& model, torch::optim::Optimizer& optimizer,
                                               torch::nn::Module* losses) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  CheckpointState state;
  try {
    torch::serialize::InputArchive archive, model_archive, optimizer_archive;
    archive.load_from(path.string());
    c10::IValue key, epoch, seconds, images;
    archive.read("run_key", key);
    if (key.toStringRef() != run_key)
      throw RunError(path.string() + ": checkpoint of run " + key.toStringRef() + ", not of " + run_key);
    archive.read("model", model_archive);
    archive.read("optimizer", optimizer_archive);
    model.load(model_archive);
    optimizer.load(optimizer_archive);
    if (losses) {
      torch::serialize::InputArchive losses_archive;
      archive.read("losses", losses_archive);
      losses->load(losses_archive);
    }
    archive.read("epoch", epoch);
    archive.read("train_seconds", seconds);
    archive.read("images_seen", images);
    state.epoch = static_cast<int>(epoch.toInt());
    state.train_seconds = seconds.toDouble();
    state.images_seen = images.toInt();
  } catch (const r2q::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw RunError(path.string() + ": unreadable checkpoint: " + std::string(e.what()).substr(0, 300));
  }
  return state;
}

void load_weights(const std::filesystem::path& path, models::Network& model) {
  try {
    torch::serialize::InputArchive archive, model_archive;
    archive.load_from(path.string());
    archive.read("model", model_archive);
    model.load(model_archive);
  } catch (const std::exception& e) {
    throw RunError(path.string() + ": unreadable checkpoint: " + std::string(e.what()).substr(0, 300));
  }
}

}  // namespace r2q::train
