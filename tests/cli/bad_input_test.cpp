// Bad inputs at the command line (issue 8, docs/RELIABILITY.md): each is refused with exit code 2 (1 when a
// run fails) and one error message naming the problem, and a store that held a finished run before still
// holds it, untouched, and passes SQLite's integrity check.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/store/sqlite.h"
#include "tests/support/bad_input_fixture.h"
#include "tests/support/dataset_files.h"

namespace r2q {
namespace {

using nlohmann::json;
using testing::TempDir;

TEST_F(BadInput, MalformedSpecsNameTheFileAndPlace) {
  auto file = dir.write("syntax.json", "{\"name\": \"x\",\n \"base\": {,}}").string();
  expect_refused({"sweep", file, "--db", db().string()}, 2, {"syntax.json:2:", "invalid JSON"});
  auto empty = dir.write("empty.json", "").string();
  expect_refused({"sweep", empty, "--db", db().string()}, 2, {"empty.json", "invalid JSON"});
  expect_refused({"sweep", dir.path().string(), "--db", db().string()}, 2,
                 {dir.path().string() + ": a directory, not a spec file"});
  auto unknown = dir.write("unknown.json", R"({"name": "x", "base": {"train": {"lrr": 0.1}}})").string();
  expect_refused({"sweep", unknown, "--db", db().string()}, 2,
                 {"unknown.json", "base.train.lrr", "did you mean \"train.lr\""});
  expect_refused({"sweep", spec("wrongtype", R"({"train": {"epochs": "ten"}})"), "--db", db().string()}, 2,
                 {"base.train.epochs", "\"ten\""});
}

// JSON has no NaN or infinity: the literals and numbers beyond double range are syntax errors.
TEST_F(BadInput, NanAndInfinityAreInvalidJson) {
  for (const std::string value : {"NaN", "Infinity", "-Infinity"}) {
    auto file = dir.write("nan.json", R"({"name": "x", "base": {"train": {"lr": )" + value + "}}}").string();
    expect_refused({"sweep", file, "--db", db().string()}, 2, {"nan.json:1:", "invalid JSON"});
  }
  auto file = dir.write("huge.json", R"({"name": "x", "base": {"train": {"lr": 1e999}}})").string();
  expect_refused({"sweep", file, "--db", db().string()}, 2, {"huge.json: invalid JSON", "overflow", "1e999"});
}

TEST_F(BadInput, NegativeAndAbsurdValuesNameThePathAndValue) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"train": {"lr": -0.1}})", "base.train.lr: expected a number in (0, 100], got -0.1"},
      {R"({"train": {"epochs": 1000000000}})", "base.train.epochs"},
      {R"({"train": {"epochs": 0}})", "base.train.epochs"},
      {R"({"train": {"batch_size": 0}})", "base.train.batch_size"},
      {R"({"dataset": {"train_limit": -5}})", "base.dataset.train_limit"},
      {R"({"threads": 100000})", "base.threads"},
      {R"({"eval": {"fgsm_eps": [0, 7]}})", "base.eval.fgsm_eps[1]"},
      {R"({"quant": {"weight_bits": 64}})", "base.quant.weight_bits"}};
  for (const auto& [patch, message] : cases)
    expect_refused({"sweep", spec("absurd", patch), "--db", db().string()}, 2, {"absurd.json", message});
}

TEST_F(BadInput, HugeGridIsRefusedUnlessConfirmed) {
  std::string seeds = "[";
  for (int i = 0; i < 150; ++i) seeds += (i ? "," : "") + std::to_string(i);
  seeds += "]";
  json huge = json::parse(spec_text("huge"));
  huge["grid"] = {{"seed", json::parse(seeds)}, {"dataset.train_limit", json::parse(seeds)}};
  auto file = dir.write("huge.json", huge.dump()).string();
  expect_refused({"sweep", file, "--db", db().string()}, 2, {"huge.json", "more than 10000 runs", "--yes"});
  auto confirmed = r2q({"sweep", file, "--db", db().string(), "--yes", "--dry-run"});
  EXPECT_EQ(confirmed.exit_code, 0) << confirmed.err;
  EXPECT_NE(confirmed.out.find("huge: 22500 runs"), std::string::npos) << confirmed.out.substr(0, 200);
  expect_store_intact();
}

TEST_F(BadInput, MissingDatasetSaysHowToInstallIt) {
  auto file =
      spec("nodata", R"({"dataset": {"name": "fashion-mnist", "root": "/nonexistent/fashion-mnist"}})");
  expect_refused({"sweep", file, "--db", db().string()}, 2,
                 {"/nonexistent/fashion-mnist", "apt-get install dataset-fashion-mnist"});
}

TEST_F(BadInput, DamagedDatasetFilesNameTheFile) {
  auto write_dataset = [&](const std::string& labels_raw) {
    std::vector<uint8_t> labels(8);
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<uint8_t>(i);
    dir.write("fm/train-images-idx3-ubyte.gz", testing::gzip(testing::idx_bytes({8, 28, 28})));
    dir.write("fm/train-labels-idx1-ubyte.gz", testing::gzip(labels_raw));
    dir.write("fm/t10k-images-idx3-ubyte.gz", testing::gzip(testing::idx_bytes({8, 28, 28})));
    dir.write("fm/t10k-labels-idx1-ubyte.gz", testing::gzip(testing::idx_bytes({8}, labels)));
  };
  const std::string patch =
      R"({"dataset": {"name": "fashion-mnist", "root": ")" + (dir / "fm").string() + R"(", "val_size": 2}})";
  std::vector<uint8_t> bad_label = {0, 1, 2, 3, 4, 5, 6, 12};
  const std::string good_labels = testing::idx_bytes({8}, {0, 1, 2, 3, 4, 5, 6, 7});
  std::string wrong_magic = good_labels;
  wrong_magic[0] = 7;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {good_labels.substr(0, good_labels.size() - 3), "truncated"},
      {wrong_magic, "not an IDX file"},
      {testing::idx_bytes({8}, bad_label), "label 12 at index 7 is out of range"}};
  for (const auto& [labels, message] : cases) {
    write_dataset(labels);
    expect_refused({"sweep", spec("damaged", patch), "--db", db().string()}, 2,
                   {"train-labels-idx1-ubyte.gz", message});
  }
}

TEST_F(BadInput, MissingStoreAndUncreatableStoreDirectory) {
  const auto missing = (dir / "no/such/dir/r2q.db").string();
  for (const std::string command : {"status", "list", "report"})
    expect_refused({command, "--db", missing}, 2, {missing, "no store here"});
  expect_refused({"export", "abc", "-o", (dir / "m.r2q").string(), "--db", missing}, 2, {"no store here"});
  EXPECT_FALSE(std::filesystem::exists(dir / "no"));
  dir.write("plain-file", "not a directory");
  expect_refused({"sweep", spec("nodir"), "--db", (dir / "plain-file/r2q.db").string()}, 2,
                 {"plain-file/r2q.db: cannot create the store: Not a directory"});
}

TEST_F(BadInput, AFileThatIsNotAStoreIsLeftAlone) {
  auto notes = dir.write("notes.db", "some notes, not an SQLite database; r2q must not write into them....");
  expect_refused({"sweep", spec("foreign"), "--db", notes.string()}, 2, {"notes.db"});
  expect_refused({"status", "--db", notes.string()}, 2, {"notes.db"});
  EXPECT_EQ(testing::read_text(notes),
            "some notes, not an SQLite database; r2q must not write into them....");
}

TEST_F(BadInput, AStoreFromANewerR2qIsRefusedAndKept) {
  {
    store::Database d(db(), store::Database::Mode::ReadWrite);
    d.exec("PRAGMA user_version = 99");
  }
  for (const std::string command : {"status", "list", "report"})
    expect_message({command, "--db", db().string()}, 2, {db().string(), "newer r2q", "upgrade r2q"});
  expect_message({"sweep", spec("newer"), "--db", db().string()}, 2, {"newer r2q"});
  {
    store::Database d(db(), store::Database::Mode::ReadWrite);
    EXPECT_EQ(d.pragma_int("user_version"), 99);
    d.exec("PRAGMA user_version = 1");  // as this r2q wrote it: the content must be as before
  }
  expect_store_intact();
}

// A store on read-only storage (or of another user) can be read but not swept into. Tests running as root
// run r2q as nobody, for whom the permissions hold.
TEST_F(BadInput, AReadOnlyStoreIsReadButNotWritten) {
  testing::SpawnOptions user;
  if (::geteuid() == 0) {
    user.uid = 65534;
    user.gid = 65534;
  }
  namespace fs = std::filesystem;
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  const auto file = spec("readonly");
  // As a store closed by its last writer is: no -wal or -shm file beside it (the reads in SetUp left them).
  {
    store::Database closing(db(), store::Database::Mode::ReadWrite);
    closing.exec("SELECT count(*) FROM runs");  // the last connection to close removes them
  }
  ASSERT_FALSE(fs::exists(db().string() + "-wal"));
  ASSERT_FALSE(fs::exists(db().string() + "-shm"));
  fs::permissions(db(), fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(dir / "runs", fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                    fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  auto status = r2q({"status", "--db", db().string()}, user);
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("done"), std::string::npos) << status.out;
  auto list = r2q({"list", "--db", db().string(), "--format", "json"}, user);
  EXPECT_EQ(list.exit_code, 0) << list.err;
  expect_refused({"sweep", file, "--db", db().string()}, 2, {db().string(), "read-only"}, user);
  fs::permissions(dir / "runs", fs::perms::owner_all);
  fs::permissions(db(), fs::perms::owner_read | fs::perms::owner_write);
}

// A full disk, simulated with RLIMIT_FSIZE (writes past the limit fail with EFBIG): the run fails (exit 1)
// with a message naming the file that could not be written, and the store keeps what it had. At 256 KiB the
// checkpoint cannot be written; at 12 KiB not even the store's write-ahead log.
TEST_F(BadInput, AFullDiskFailsTheRunAndKeepsTheStore) {
  int seed = 100;
  for (rlim_t limit : {rlim_t{256} << 10, rlim_t{12} << 10}) {
    SCOPED_TRACE("file size limit " + std::to_string(limit));
    testing::SpawnOptions full;
    full.file_size_limit = limit;
    auto r = r2q(
        {"sweep", spec("full", R"({"seed": )" + std::to_string(++seed) + "}"), "--db", db().string()}, full);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("File too large"), std::string::npos) << r.err;
    expect_store_intact();
    auto status = r2q({"status", "--db", db().string()});
    EXPECT_EQ(status.exit_code, 0) << status.err;
  }
  // merge and report -o under the limit: a message and exit 1, not death by SIGXFSZ (exit 153), which the
  // limit sends by default (issue 20); the store read is untouched.
  testing::SpawnOptions tiny;
  tiny.file_size_limit = rlim_t{4} << 10;
  auto merge = r2q({"merge", (dir / "merged.db").string(), db().string()}, tiny);
  EXPECT_EQ(merge.exit_code, 1) << merge.err;
  EXPECT_NE(merge.err.find("File too large"), std::string::npos) << merge.err;
  auto report =
      r2q({"report", "--db", db().string(), "--format", "html", "-o", (dir / "r.html").string()}, tiny);
  EXPECT_EQ(report.exit_code, 1) << report.err;
  EXPECT_NE(report.err.find("File too large"), std::string::npos) << report.err;
  expect_store_intact();
}

// Reusing an experiment's name with a spec that leaves out its finished runs (issue 20): refused without
// --replace, naming the experiment and the count, the store as it was; a dry run says so too. With --replace
// the name points at the new spec and the earlier version stays reachable as "done~1".
TEST_F(BadInput, AChangedSpecDoesNotSilentlyTakeFinishedRunsAway) {
  const auto changed = spec("done", R"({"seed": 7})");
  expect_refused({"sweep", changed, "--db", db().string()}, 2,
                 {"done.json", "\"done\"", "1 finished run", "--replace"});
  auto dry = r2q({"sweep", changed, "--db", db().string(), "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("needs --replace"), std::string::npos) << dry.out;
  // -j registers once, before its workers: the same refusal, once.
  expect_refused({"sweep", changed, "--db", db().string(), "-j", "2"}, 2, {"\"done\"", "--replace"});

  auto replaced = r2q({"sweep", changed, "--db", db().string(), "--replace"});
  ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
  EXPECT_NE(replaced.err.find("\"done~1\""), std::string::npos) << replaced.err;
  auto earlier = r2q({"list", "--db", db().string(), "--experiment", "done~1", "--format", "json"});
  ASSERT_EQ(earlier.exit_code, 0) << earlier.err;
  EXPECT_NE(earlier.out.find(before.begin()->first.substr(0, 12)), std::string::npos) << earlier.out;
  auto now = r2q({"list", "--db", db().string(), "--experiment", "done", "--format", "json"});
  ASSERT_EQ(now.exit_code, 0) << now.err;
  EXPECT_EQ(now.out.find(before.begin()->first.substr(0, 12)), std::string::npos) << now.out;
  // The original spec again: the new version's finished run would leave, so it is refused the same way.
  expect_message({"sweep", spec("done"), "--db", db().string()}, 2, {"\"done\"", "--replace"});
}

// A value with a newline, a tab or a quote in it is echoed escaped, within the one error line (issue 20).
TEST_F(BadInput, EchoedValuesAreEscapedOnOneLine) {
  auto command = r2q({"swe\nep"});
  EXPECT_EQ(command.exit_code, 2);
  EXPECT_NE(command.err.find("unknown command \"swe\\nep\""), std::string::npos) << command.err;
  expect_message({"report", "--db", db().string(), "--where", "quant.me\tthod=r\"2q\n"}, 2,
                 {"\"quant.me\\tthod=r\\\"2q\\n\""});
  expect_message({"sweep", spec("esc", R"({"quant": {"method": "r2q\nx"}})"), "--db", db().string()}, 2,
                 {"r2q\\nx"});
}

}  // namespace
}  // namespace r2q
