// r2q eval end to end: a run trained with eval.backend and exported, then evaluated from its file: the same
// accuracy and agreement as the run recorded, predictions and logits (CSV and .npy, read back here by an
// independent parser), json, and each bad input refused with exit code 2 and its cause.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/deploy/model_file.h"
#include "core/util/sha256.h"
#include "core/util/text.h"
#include "tests/support/dataset_files.h"
#include "tests/support/deploy_test_models.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace r2q {
namespace {

using nlohmann::json;
using testing::TempDir;

const std::string kR2q = R2Q_BINARY;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines = split(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// A .npy file read back by the format's specification, independently of the writer.
struct Npy {
  std::string dict;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
  std::size_t data_offset = 0;
};

Npy read_npy(const std::string& bytes) {
  Npy n;
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw std::runtime_error("npy: bad magic");
  if (bytes[6] != 1 || bytes[7] != 0) throw std::runtime_error("npy: not version 1.0");
  const std::size_t length = static_cast<unsigned char>(bytes[8]) |
                             (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
  n.data_offset = 10 + length;
  n.dict = bytes.substr(10, length);
  if (n.dict.back() != '\n') throw std::runtime_error("npy: header does not end in a newline");
  const auto open = n.dict.find("'shape': (");
  if (open == std::string::npos) throw std::runtime_error("npy: no shape");
  const auto close = n.dict.find(')', open);
  for (const auto& part : split(n.dict.substr(open + 10, close - open - 10), ','))
    if (part.find_first_not_of(' ') != std::string::npos) n.shape.push_back(std::stoll(part));
  std::size_t count = 1;
  for (auto d : n.shape) count *= static_cast<std::size_t>(d);
  if (bytes.size() != n.data_offset + 4 * count)
    throw std::runtime_error("npy: data size does not match shape");
  n.values.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data() + n.data_offset + 4 * i);
    const std::uint32_t bits = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
    std::memcpy(&n.values[i], &bits, 4);
  }
  return n;
}

// One run of r2q (W2A2 LeNet on synthetic data, deployed on the CPU backend while training), its store and
// its exported model: made once for the suite.
class Eval : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    json base = json::parse(R"({"dataset": {"name": "synthetic", "val_size": 100, "train_limit": 300,
        "test_limit": 200}, "model": {"name": "lenet"}, "quant": {"method": "r2q"},
        "train": {"epochs": 1, "batch_size": 32, "lr": 0.05}, "eval": {"fgsm_eps": [0], "backend": "cpu"},
        "threads": 1})");
    const auto spec = dir_->write("eval.json", json{{"name", "eval"}, {"base", base}}.dump());
    auto r = run({"run", spec.string(), "--db", db()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    key_ = new std::string(r.out.substr(0, r.out.size() - 1));
    auto e = run({"export", *key_, "-o", model(), "--db", db()});
    ASSERT_EQ(e.exit_code, 0) << e.err;
    auto list = run({"list", "--db", db(), "--format", "json"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    metrics_ = new json(json::parse(list.out)[0]["metrics"]);
  }
  static void TearDownTestSuite() {
    delete metrics_;
    delete key_;
    delete dir_;
  }
  static testing::ProcessResult run(std::vector<std::string> args) {
    args.insert(args.begin(), kR2q);
    return testing::run_process(args, dir_->path());
  }
  static std::string db() { return (dir_->path() / "runs/r2q.db").string(); }
  static std::string model() { return (dir_->path() / "model.r2q").string(); }
  static std::string path(const std::string& name) { return (dir_->path() / name).string(); }
  // eval of the exported model on the run's test set (synthetic, first 200 images), one thread.
  static testing::ProcessResult eval(std::vector<std::string> more) {
    std::vector<std::string> args = {"eval",         model(), "--dataset", "synthetic",
                                     "--test-limit", "200",   "--threads", "1"};
    args.insert(args.end(), more.begin(), more.end());
    return run(args);
  }
  void SetUp() override {
    ASSERT_NE(key_, nullptr);
    ASSERT_NE(metrics_, nullptr);
    ASSERT_TRUE(metrics_->contains("deploy/cpu/acc")) << metrics_->dump();
  }

  static TempDir* dir_;
  static std::string* key_;
  static json* metrics_;
};
TempDir* Eval::dir_ = nullptr;
std::string* Eval::key_ = nullptr;
json* Eval::metrics_ = nullptr;

TEST_F(Eval, AccuracyAndAgreementAreTheRunsOwn) {
  auto r = eval({"--against", key_->substr(0, 10), "--db", db(), "-f", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json out = json::parse(r.out);
  EXPECT_EQ(out["model"], model());
  EXPECT_EQ(out["sha256"], sha256_hex(testing::read_text(model())));
  EXPECT_EQ(out["model_run_key"], *key_);
  EXPECT_EQ(out["dataset"], "synthetic");
  EXPECT_FALSE(out.contains("warnings")) << out.dump();
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_EQ(out["images"], 200);
  EXPECT_EQ(out["classes"], 10);
  EXPECT_EQ(out["backend"], "cpu");
  EXPECT_EQ(out["engine"].get<std::string>().substr(0, 9), "shift-add") << out.dump();
  EXPECT_EQ(out["threads"], 1);
  EXPECT_DOUBLE_EQ(out["accuracy"].get<double>(), out["correct"].get<double>() / 200.0);
  // The file evaluates exactly as the run's deployment did while training (same images, same engine).
  EXPECT_EQ(out["accuracy"].get<double>(), (*metrics_)["deploy/cpu/acc"].get<double>()) << out.dump();
  EXPECT_EQ(out["against"], *key_);
  const double agreement = out["agreement"].get<double>();
  EXPECT_GE(agreement, 0.0);
  EXPECT_LE(agreement, 1.0);
  EXPECT_DOUBLE_EQ(agreement, out["agreeing"].get<double>() / 200.0);
  EXPECT_EQ(agreement, (*metrics_)["deploy/cpu/agreement"].get<double>());
  EXPECT_EQ(out["stored_agreement"], (*metrics_)["deploy/cpu/agreement"]);

  // The text form says the same.
  auto text = eval({"--against", *key_, "--db", db()});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  const std::string counts = "(" + std::to_string(out["correct"].get<int>()) + "/200)";
  EXPECT_NE(text.out.find("accuracy  "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(counts), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("agreement "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(key_->substr(0, 12)), std::string::npos) << text.out;

  // Another engine of the backend runs the same file; its integer accumulators are the same, so are its
  // predictions but for float ties.
  auto int8 = eval({"--engine", "onednn-int8", "-f", "json"});
  ASSERT_EQ(int8.exit_code, 0) << int8.err;
  const json o = json::parse(int8.out);
  EXPECT_EQ(o["engine"].get<std::string>().substr(0, 11), "onednn-int8");
  EXPECT_NEAR(o["accuracy"].get<double>(), out["accuracy"].get<double>(), 0.02);
  EXPECT_FALSE(o.contains("agreement"));
}

TEST_F(Eval, PredictionsAndLogitsReadBackAndAgree) {
  auto r = eval({"--predictions", path("p.csv"), "--logits", path("l.npy"), "-f", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json out = json::parse(r.out);

  const auto rows = lines_of(testing::read_text(path("p.csv")));
  ASSERT_EQ(rows.size(), 201u);
  EXPECT_EQ(rows[0], "index,label,prediction");
  std::vector<int> predictions;
  int correct = 0;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto cells = split(rows[i], ',');
    ASSERT_EQ(cells.size(), 3u) << rows[i];
    EXPECT_EQ(std::stoi(cells[0]), static_cast<int>(i - 1));
    const int label = std::stoi(cells[1]), prediction = std::stoi(cells[2]);
    EXPECT_TRUE(label >= 0 && label < 10 && prediction >= 0 && prediction < 10) << rows[i];
    correct += label == prediction;
    predictions.push_back(prediction);
  }
  EXPECT_EQ(correct, out["correct"].get<int>());

  const std::string bytes = testing::read_text(path("l.npy"));
  const Npy npy = read_npy(bytes);
  EXPECT_EQ(npy.data_offset % 64, 0u);
  EXPECT_NE(npy.dict.find("'descr': '<f4'"), std::string::npos) << npy.dict;
  EXPECT_NE(npy.dict.find("'fortran_order': False"), std::string::npos) << npy.dict;
  ASSERT_EQ(npy.shape, (std::vector<std::int64_t>{200, 10})) << npy.dict;
  for (std::size_t i = 0; i < 200; ++i) {
    const float* row = npy.values.data() + i * 10;
    EXPECT_EQ(std::max_element(row, row + 10) - row, predictions[i]) << "image " << i;
  }

  // The CSV form holds the same floats, exactly.
  auto c = eval({"--logits", path("l.csv")});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const auto logit_rows = lines_of(testing::read_text(path("l.csv")));
  ASSERT_EQ(logit_rows.size(), 201u);
  EXPECT_EQ(logit_rows[0],
            "index,logit_0,logit_1,logit_2,logit_3,logit_4,logit_5,logit_6,logit_7,logit_8,logit_9");
  for (std::size_t i = 1; i < logit_rows.size(); ++i) {
    const auto cells = split(logit_rows[i], ',');
    ASSERT_EQ(cells.size(), 11u);
    EXPECT_EQ(std::stoi(cells[0]), static_cast<int>(i - 1));
    for (std::size_t k = 0; k < 10; ++k)
      EXPECT_EQ(std::strtof(cells[k + 1].c_str(), nullptr), npy.values[(i - 1) * 10 + k]) << logit_rows[i];
  }

  // Predictions on standard output: the summary goes to standard error.
  auto s = eval({"--predictions", "-"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(lines_of(s.out), rows);
  EXPECT_NE(s.err.find("accuracy"), std::string::npos) << s.err;
}

// Another dataset of the same shape (MNIST files for a model trained on synthetic data) is evaluated, with a
// warning for the model and for the --against run (issue 20): the number is not the model's own accuracy.
TEST_F(Eval, ADatasetOtherThanTheModelsIsEvaluatedWithAWarning) {
  std::vector<std::uint8_t> labels(30);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::uint8_t>(i % 10);
  dir_->write("mnist/t10k-images-idx3-ubyte", testing::idx_bytes({30, 28, 28}));
  dir_->write("mnist/t10k-labels-idx1-ubyte", testing::idx_bytes({30}, labels));
  dir_->write("mnist/train-images-idx3-ubyte", testing::idx_bytes({10, 28, 28}));
  dir_->write("mnist/train-labels-idx1-ubyte", testing::idx_bytes({10}, std::vector<std::uint8_t>(10, 0)));
  auto r = run({"eval", model(), "--dataset", "mnist", "--root", path("mnist"), "--threads", "1", "--against",
                *key_, "--db", db(), "-f", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json out = json::parse(r.out);
  EXPECT_EQ(out["images"], 30);
  ASSERT_EQ(out["warnings"].size(), 2u) << out.dump();
  EXPECT_NE(out["warnings"][0].get<std::string>().find("trained on \"synthetic\""), std::string::npos);
  EXPECT_NE(out["warnings"][0].get<std::string>().find("not on \"mnist\""), std::string::npos);
  EXPECT_NE(out["warnings"][1].get<std::string>().find("--against"), std::string::npos);
  EXPECT_NE(r.err.find("r2q eval: warning: "), std::string::npos) << r.err;
}

TEST_F(Eval, BadInputExitsWithTwoAndNamesTheCause) {
  // A model of another shape: 1x28x28 in, 4 classes out (global pool, one linear layer), no metadata.
  namespace dt = deploy::testing;
  deploy::Model four;
  four.input = {1, 28, 28};
  four.layers.push_back(dt::simple_layer(deploy::Op::GlobalAvgPool, "pool", {0}, 1));
  four.layers.push_back(dt::conv_layer("fc", 1, 2, {.in = 1, .out = 4, .linear = true}, 7));
  four.output = 2;
  deploy::write_model(path("four.r2q"), four);

  std::string damaged = testing::read_text(model());
  damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 0x10);
  dir_->write("damaged.r2q", damaged);
  dir_->write("text.r2q", "hello\n");
  const std::string before = testing::read_text(model());

  ::unsetenv("R2Q_DB");
  const std::vector<std::string> ok = {"--dataset", "synthetic", "--test-limit", "20", "--threads", "1"};
  auto with = [&](std::string file, std::vector<std::string> more) {
    std::vector<std::string> args = {"eval", std::move(file)};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  auto plus = [&](std::vector<std::string> more) {
    std::vector<std::string> args = ok;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
      {with(path("missing.r2q"), ok), {"missing.r2q"}},
      {with(path("damaged.r2q"), ok), {"damaged.r2q", "checksum mismatch"}},
      {with(path("text.r2q"), ok), {"text.r2q", "not an r2q model file"}},
      {with(model(), {"--dataset", "fashion-mnits"}), {"unknown dataset \"fashion-mnits\"", "fashion-mnist"}},
      {with(model(), {"--dataset", "fashion-mnist", "--root", path("nowhere")}),
       {"no dataset at", "nowhere"}},
      {with(model(), {"--dataset", "synthetic-rgb"}), {"synthetic-rgb", "3x32x32", "1x28x28", "model.r2q"}},
      {with(path("four.r2q"), ok), {"four.r2q", "10 classes", "4 outputs"}},
      {with(model(), plus({"--backend", "tpu"})), {"unknown backend \"tpu\"", "cpu"}},
      {with(model(), plus({"--engine", "warp-drive"})), {"warp-drive", "shift-add"}},
      {with(model(), {"--dataset", "synthetic", "--threads=-1"}), {"--threads", "-1"}},
      {with(model(), {"--dataset", "synthetic", "--test-limit=-5"}), {"--test-limit", "-5"}},
      {with(model(), plus({"-f", "xml"})), {"--format", "xml"}},
      {with(model(), plus({"--against", *key_})), {"--against", "--db"}},
      {with(model(), plus({"--db", db()})), {"--db", "--against"}},
      {with(model(), plus({"--against", "ffffzzzz", "--db", db()})), {"no run with key \"ffffzzzz\""}},
      {with(model(), plus({"--against", *key_, "--db", path("none.db")})), {"none.db"}},
      {with(model(), plus({"--predictions", path("no/such/dir/p.csv")})),
       {"--predictions", "does not exist"}},
      {with(model(), plus({"--logits", model()})), {"--logits", "model.r2q", "reads"}},
      {with(model(), plus({"--against", *key_, "--db", db(), "--predictions", db()})),
       {"--predictions", "reads"}},
      {with(model(), plus({"--predictions", path("same.csv"), "--logits", path("same.csv")})),
       {"--logits", "same.csv", "--predictions"}},
      {with(model(), plus({"--predictions", "-", "--logits", "-"})), {"--logits", "--predictions"}},
  };
  for (const auto& [args, names] : cases) {
    auto r = run(args);
    std::string shown = join(args, " ");
    EXPECT_EQ(r.exit_code, 2) << shown << "\n" << r.err;
    for (const auto& name : names) EXPECT_NE(r.err.find(name), std::string::npos) << shown << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << shown << "\n" << r.err;
  }
  EXPECT_EQ(testing::read_text(model()), before);
  EXPECT_FALSE(std::filesystem::exists(path("same.csv")));

  // A model without metadata of the right shape evaluates (its accuracy is whatever its weights give).
  four.layers.back() = dt::conv_layer("fc", 1, 2, {.in = 1, .out = 10, .linear = true}, 7);
  deploy::write_model(path("ten.r2q"), four);
  auto ten = run(with(path("ten.r2q"), plus({"-f", "json"})));
  ASSERT_EQ(ten.exit_code, 0) << ten.err;
  EXPECT_EQ(json::parse(ten.out)["images"], 20);
  EXPECT_FALSE(json::parse(ten.out).contains("model_run_key"));
}

}  // namespace
}  // namespace r2q
