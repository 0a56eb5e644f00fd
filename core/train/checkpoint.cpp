// Checkpoints: torch::serialize archives behind a length and a SHA-256.
#include "core/train/checkpoint.h"

#include <fcntl.h>
#include <torch/serialize.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/sha256.h"

namespace r2q::train {

namespace {

// The file: kMagic, the payload's length (8 bytes, little-endian), the payload's SHA-256 (64 hex digits),
// then the payload, a torch::serialize archive (a zip file). A flipped bit, a truncated or an empty file
// fails the check before LibTorch reads a byte. Checkpoints written before the checksum (a bare zip file)
// still load.
constexpr std::string_view kMagic = "R2QCKPT1";
constexpr std::size_t kHeaderSize = 8 + 8 + 64;

// Writes `bytes` through our own file descriptor, so that a failed write (a full disk) is reported with its
// cause. `file` is the temporary file; messages name the checkpoint.
void write_bytes(const std::vector<std::string_view>& parts, const std::filesystem::path& file,
                 const std::filesystem::path& checkpoint) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw RunError(checkpoint.string() + ": cannot create the checkpoint: " + std::strerror(errno));
  int write_errno = 0;
  for (std::string_view bytes : parts)
    for (std::size_t done = 0; done < bytes.size() && write_errno == 0;) {
      const ssize_t written = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0)
        write_errno = written < 0 ? errno : EIO;
      else
        done += static_cast<std::size_t>(written);
    }
  if (::close(fd) != 0 && write_errno == 0) write_errno = errno;
  if (write_errno != 0)
    throw RunError(checkpoint.string() + ": cannot write the checkpoint: " + std::strerror(write_errno));
}

// The archive's bytes. LibTorch's own file writer reports a short write by throwing from the archive writer's
// destructor, which terminates the process; serialising to memory first keeps every I/O error ours.
std::string serialise(torch::serialize::OutputArchive& archive, const std::filesystem::path& checkpoint) {
  std::string bytes;
  try {
    archive.save_to([&](const void* data, size_t size) -> size_t {
      bytes.append(static_cast<const char*>(data), size);
      return size;
    });
  } catch (const std::exception& e) {
    throw RunError(checkpoint.string() + ": cannot write the checkpoint: " + one_line(e.what()));
  }
  return bytes;
}

// A checkpoint file that fails its check: damaged, truncated, or not a checkpoint at all.
class DamagedCheckpoint : public RunError {
 public:
  using RunError::RunError;
};

std::string little_endian(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

// Reads and checks the file; the archive's bytes.
std::string read_verified(const std::filesystem::path& path) {
  const std::string bytes = read_input_file(path, "a checkpoint");
  if (bytes.starts_with("PK\x03\x04")) return bytes;  // written before the checksum
  if (bytes.empty()) throw DamagedCheckpoint(path.string() + ": the checkpoint is empty");
  if (!bytes.starts_with(kMagic))
    throw DamagedCheckpoint(path.string() + ": not an r2q checkpoint (its first bytes are not " +
                            std::string(kMagic) + ")");
  if (bytes.size() < kHeaderSize)
    throw DamagedCheckpoint(path.string() + ": the checkpoint is truncated (" + std::to_string(bytes.size()) +
                            " bytes, less than its header)");
  std::uint64_t length = 0;
  for (int i = 7; i >= 0; --i)
    length = (length << 8) | static_cast<unsigned char>(bytes[8 + static_cast<std::size_t>(i)]);
  if (length != bytes.size() - kHeaderSize)
    throw DamagedCheckpoint(path.string() + ": the checkpoint is truncated or extended (" +
                            std::to_string(bytes.size() - kHeaderSize) + " bytes of data, its header says " +
                            std::to_string(length) + ")");
  std::string payload = bytes.substr(kHeaderSize);
  if (sha256_hex(payload) != std::string_view(bytes).substr(16, 64))
    throw DamagedCheckpoint(path.string() + ": the checkpoint is damaged (its SHA-256 does not match)");
  return payload;
}

// Tensors land on `device`, wherever they were saved from: a checkpoint written on a GPU resumes on the CPU
// and back.
void load_archive(torch::serialize::InputArchive& archive, const std::string& bytes,
                  const std::filesystem::path& path, const torch::Device& device) {
  try {
    archive.load_from(bytes.data(), bytes.size(), device);
  } catch (const std::exception& e) {
    throw DamagedCheckpoint(path.string() + ": the checkpoint is unreadable: " + one_line(e.what()));
  }
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const std::string& run_key, nn::Network& model,
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
  const std::string payload = serialise(archive, path);
  const std::string length = little_endian(payload.size()), checksum = sha256_hex(payload);
  std::filesystem::create_directories(path.parent_path());
  write_file_atomically(path, [&](const std::filesystem::path& tmp) {
    write_bytes({kMagic, length, checksum, payload}, tmp, path);
  });
}

std::optional<CheckpointState> load_checkpoint(const std::filesystem::path& path, const std::string& run_key,
                                               nn::Network& model, torch::optim::Optimizer& optimizer,
                                               torch::nn::Module* losses, std::string* discarded) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  torch::serialize::InputArchive archive;
  c10::IValue key;
  try {
    load_archive(archive, read_verified(path), path, nn::device_of(model));
    try {
      archive.read("run_key", key);
    } catch (const std::exception& e) {
      throw DamagedCheckpoint(path.string() + ": the checkpoint has no run key: " + one_line(e.what()));
    }
  } catch (const DamagedCheckpoint& e) {
    // Nothing was loaded yet: keep the file for a post-mortem and start the run over.
    std::error_code ec;
    std::filesystem::rename(path, path.string() + ".damaged", ec);
    if (ec) std::filesystem::remove(path, ec);
    if (discarded) *discarded = e.what();
    return std::nullopt;
  }
  if (!key.isString() || key.toStringRef() != run_key)
    throw RunError(path.string() + ": checkpoint of run " + (key.isString() ? key.toStringRef() : "?") +
                   ", not of " + run_key);
  CheckpointState state;
  try {
    torch::serialize::InputArchive model_archive, optimizer_archive;
    c10::IValue epoch, seconds, images;
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
  } catch (const std::exception& e) {
    // The file passed its check, so it is this r2q's model that does not fit it: not a reason to discard it.
    throw RunError(path.string() + ": the checkpoint does not fit this run's model: " + one_line(e.what()));
  }
  return state;
}

void load_weights(const std::filesystem::path& path, nn::Network& model) {
  torch::serialize::InputArchive archive, model_archive;
  load_archive(archive, read_verified(path), path, nn::device_of(model));
  try {
    archive.read("model", model_archive);
    model.load(model_archive);
  } catch (const std::exception& e) {
    throw RunError(path.string() + ": the checkpoint does not fit the model: " + one_line(e.what()));
  }
}

}  // namespace r2q::train
