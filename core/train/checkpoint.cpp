// Checkpoints through torch::serialize archives.
#include "core/train/checkpoint.h"

#include <torch/serialize.h>
#include <torch/torch.h>

#include "core/util/error.h"
#include "core/util/files.h"

namespace r2q::train {

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
  write_file_atomically(path, [&](const std::filesystem::path& tmp) { archive.save_to(tmp.string()); });
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
