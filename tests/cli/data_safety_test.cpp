// Data safety at the command line (issue 15, docs/RELIABILITY.md "Bad inputs"): outputs that would destroy
// what a command reads, damaged store rows and checkpoints, hostile model files, signals to `sweep -j`, and
// options out of range. Each is refused with one line naming the cause (exit 2), or survived (exit 0), and
// the store keeps what it held.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/store/sqlite.h"
#include "core/store/store.h"
#include "core/util/sha256.h"
#include "tests/support/bad_input_fixture.h"

namespace r2q {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::filesystem::path kSource = R2Q_SOURCE_DIR;

// A model file from the fuzz seeds with its header changed and every checksum made valid again, as an
// attacker would: the file-level checks pass, the loader's bounds must hold.
std::string with_header(const std::string& bytes, const std::function<void(json&)>& change) {
  auto le = [&](std::size_t at) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
      v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
    return v;
  };
  auto align = [](std::size_t n) { return (n + 63) / 64 * 64; };
  const std::size_t header_length = le(8);
  json header = json::parse(bytes.substr(16, header_length));
  const std::string data =
      bytes.substr(align(16 + header_length), bytes.size() - 64 - align(16 + header_length));
  change(header);
  const std::string text = header.dump();
  std::string out = bytes.substr(0, 8);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((text.size() >> (8 * i)) & 0xff));
  out += text;
  out.resize(align(out.size()), '\0');
  out += data;
  return out + sha256_hex(out);
}

// The finished run of the fixture's store, and its checkpoint copied beside the copy of the store.
class DataSafety : public BadInput {
 protected:
  void SetUp() override {
    BadInput::SetUp();
    key = before.begin()->first;
    std::filesystem::copy(*golden / "r2q.db.checkpoints", dir / "runs/r2q.db.checkpoints");
  }
  void sql(const std::filesystem::path& db, const std::string& statement) {
    store::Database d(db, store::Database::Mode::ReadWrite);
    d.exec(statement);
  }
  // A copy of the store with `statement` applied, for the damaged-row cases.
  std::filesystem::path damaged(const std::string& name, const std::string& statement) {
    const auto path = dir / (name + ".db");
    std::filesystem::copy_file(db(), path);
    sql(path, statement);
    return path;
  }
  void expect_no_trace(const testing::ProcessResult& r) {
    EXPECT_EQ(r.err.find("Exception raised from"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("frame #"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  }
  std::string key;
};

// Item 1: -o onto the store (by name, through a hard or a symbolic link, its -wal file) is refused before any
// work; the store keeps every run.
TEST_F(DataSafety, AnOutputThatIsTheStoreIsRefused) {
  const std::string store = db().string();
  ASSERT_EQ(::link(store.c_str(), (dir / "hard.db").c_str()), 0);
  std::filesystem::create_symlink(db(), dir / "soft.db");
  for (const std::string& target : {store, (dir / "hard.db").string(), (dir / "soft.db").string()}) {
    expect_refused({"report", "--db", store, "-o", target}, 2, {target, "which this command reads"});
    expect_refused({"export", key.substr(0, 8), "--db", store, "-o", target}, 2,
                   {"which this command reads"});
  }
  expect_refused({"report", "--db", store, "-o", store + "-wal"}, 2, {"the wal file of", store});
  expect_refused({"export", key.substr(0, 8), "--db", store, "-o",
                  (dir / "runs/r2q.db.checkpoints" / (key + ".pt")).string()},
                 2, {"which this command reads"});
}

// Item 1: a symbolic link is written through (the link stays); a device or "-" is a stream, never replaced.
TEST_F(DataSafety, LinksAndStreamsAreWrittenInPlace) {
  const auto target = dir / "elsewhere/report.md";
  std::filesystem::create_directories(target.parent_path());
  std::filesystem::create_symlink(target, dir / "link.md");
  auto r = r2q({"report", "--db", db().string(), "-o", (dir / "link.md").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::is_symlink(dir / "link.md"));
  EXPECT_NE(testing::read_text(target).find("| "), std::string::npos);
  r = r2q({"report", "--db", db().string(), "-o", "/dev/null"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  r = r2q({"report", "--db", db().string(), "-o", "-", "--format", "csv"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(","), std::string::npos);
  expect_store_intact();
}

// Item 12: bad output paths are named, exit 2, never an internal error or a temporary file's name.
TEST_F(DataSafety, BadOutputPathsAreNamed) {
  const std::string store = db().string();
  expect_refused({"report", "--db", store, "-o", dir.path().string()}, 2, {"is a directory"});
  expect_refused({"report", "--db", store, "-o", ""}, 2, {"-o: the output path is empty"});
  expect_refused({"export", key.substr(0, 8), "--db", store, "-o", (dir / "sub/").string()}, 2,
                 {"ends in '/'"});
  auto r = r2q({"report", "--db", store, "-o", "missing/dir/f.md"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("-o missing/dir/f.md: the directory missing/dir does not exist"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find(".tmp."), std::string::npos) << r.err;
  expect_refused({"bench", "--model", dir.path().string()}, 2, {"is a directory, not a model file"});
}

// Item 13: a FIFO (or a directory) as the store is refused at once, by every command.
TEST_F(DataSafety, AStoreThatIsNotARegularFileIsRefused) {
  const auto fifo = dir / "fifo.db";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string command : {"status", "list", "report"})
    expect_refused({command, "--db", fifo.string()}, 2, {"fifo.db: not a regular file (a FIFO)"});
  expect_refused({"sweep", spec("fifo"), "--db", fifo.string()}, 2, {"a FIFO"});
  std::filesystem::create_directory(dir / "dir.db");
  expect_refused({"status", "--db", (dir / "dir.db").string()}, 2, {"not a regular file (a directory)"});
}

// Items 5 and 15: options out of range are refused (as bad usage) before anything is done.
TEST_F(DataSafety, OptionsOutOfRangeAreRefused) {
  auto refused = [&](const std::vector<std::string>& args, const std::string& fragment) {
    auto r = r2q(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
  };
  for (const std::string value : {"0", "-5", "nan", "inf"}) {
    refused({"sweep", spec("opts"), "--db", db().string(), "--stale-after", value},
            "--stale-after: " + value + " is not a duration");
    refused({"status", "--db", db().string(), "--stale-after", value}, "--stale-after: " + value);
  }
  refused({"sweep", spec("opts"), "--db", db().string(), "--threads", "5000"},
          "--threads: 5000 is out of range (expected 0 to 4096)");
  refused({"run", spec("opts"), "--db", db().string(), "--threads", "5000"}, "--threads: 5000");
  refused({"sweep", spec("opts"), "--db", db().string(), "-j", "0"}, "--jobs: 0");
  expect_store_intact();
}

// Item 8: a 100,000-deep spec is refused with a message, not a stack overflow.
TEST_F(DataSafety, ADeeplyNestedSpecIsRefused) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const auto file = dir.write("deep.json", R"({"name": "deep", "base": {"seed": )" + deep + "}}").string();
  expect_refused({"sweep", file, "--db", db().string()}, 2, {"deep.json: JSON nested 100002 levels deep"});
  // (An argument is at most 128 KiB: a shallower --set value.)
  const std::string deep_value = std::string(1000, '[') + std::string(1000, ']');
  auto r = r2q({"run", spec("set"), "--db", db().string(), "--set", "seed=" + deep_value});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--set seed: the value is JSON nested deeper than 64 levels"), std::string::npos)
      << r.err;
}

// Items 9 and 11: damaged rows are named (run key, column) and refused by the readers, skipped by merge; no
// internal error, no 0.00% for a value that is not a number.
TEST_F(DataSafety, DamagedRowsAreNamedAndNotMerged) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"array", "UPDATE runs SET config = '[1,2]'", "the stored config is not a JSON object"},
      {"empty", "UPDATE runs SET config = '{}'", "the stored config has no field dataset.name"},
      {"type", "UPDATE runs SET config = json_set(config, '$.train.epochs', 'ten')",
       "train.epochs = \"ten\""},
      {"environment", "UPDATE runs SET environment = 'x'", "the stored environment is not valid JSON"},
      {"metric", "UPDATE metrics SET value = 'abc' WHERE name = 'test/acc'",
       "has the value 'abc', not a number"}};
  for (const auto& [name, statement, message] : cases) {
    SCOPED_TRACE(name);
    const auto bad = damaged(name, statement);
    for (const std::string command : {"list", "report"})
      if (command == "list" || name != "environment")  // a report does not read the environment
        expect_message({command, "--db", bad.string()}, 2, {bad.string(), key, message});
    if (name != "metric") {
      expect_message({"status", "--db", bad.string()}, 2, {key, message});
      expect_message({"export", key.substr(0, 8), "--db", bad.string(), "-o", (dir / "m.r2q").string()}, 2,
                     {key, message});
    }
    // Merged into a fresh store, the damaged row stays out and the result reads back.
    const auto merged = dir / (name + "-merged.db");
    auto r = r2q({"merge", merged.string(), bad.string()});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.out.find("skipped: " + key), std::string::npos) << r.out;
    expect_no_trace(r);
    for (const std::string command : {"list", "status", "report"}) {
      auto after = r2q({command, "--db", merged.string()});
      EXPECT_EQ(after.exit_code, 0) << command << ": " << after.err;
    }
  }
  expect_store_intact();
}

// Item 10: a model file whose checksums are valid but whose sizes are hostile names the field.
TEST_F(DataSafety, HostileModelFilesNameTheField) {
  const std::string seed = testing::read_text(kSource / "fuzz/corpus/model_file/lenet_head.r2q");
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases = {
      {[](json& h) { h["metadata"]["classes"] = -1; }, "metadata.classes: -1"},
      {[](json& h) { h["metadata"]["classes"] = 1000000000000; }, "metadata.classes: 1000000000000"},
      {[](json& h) {
         h["graph"]["input_shape"] = {1, 65536, 65536};
       },
       "elements per image"}};
  int i = 0;
  for (const auto& [change, message] : cases) {
    const auto file = dir.write("hostile" + std::to_string(i++) + ".r2q", with_header(seed, change));
    auto r = r2q({"bench", "--model", file.string(), "--batch", "1", "--threads", "1", "--min-time", "0.01",
                  "--sample-ms", "0"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    expect_no_trace(r);
  }
}

// Item 6: a damaged checkpoint is set aside with a warning and its run starts over and finishes, with the
// results of the undamaged run; no LibTorch trace reaches the console or the store.
TEST_F(DataSafety, ADamagedCheckpointIsDiscardedAndTheRunStartsOver) {
  const auto checkpoint = dir / "runs/r2q.db.checkpoints" / (key + ".pt");
  const std::string intact = testing::read_text(checkpoint);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "the checkpoint is empty"},
      {intact.substr(0, intact.size() / 2), "truncated"},
      {std::string(4096, 'x'), "not an r2q checkpoint"},
      {[&] {
         std::string flipped = intact;
         flipped[flipped.size() - 100] ^= 0x10;
         return flipped;
       }(),
       "its SHA-256 does not match"}};
  const std::string file = dir.write("done.json", spec_text("done")).string();
  for (const auto& [content, message] : cases) {
    SCOPED_TRACE(message);
    dir.write("runs/r2q.db.checkpoints/" + key + ".pt", content);
    sql(db(), "UPDATE runs SET status = 'pending', epoch = 1");
    auto r = r2q({"sweep", file, "--db", db().string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("warning: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    expect_no_trace(r);
    EXPECT_TRUE(std::filesystem::exists(checkpoint.string() + ".damaged"));
    store::Store s(db(), store::Store::Mode::ReadOnly);
    EXPECT_EQ(s.run(key)->status, store::RunStatus::Finished);
    EXPECT_EQ(s.final_metrics(key).at("test/acc"), before.at(key).metrics.at({"test/acc", 1}).first);
  }
}

// Item 7: checkpoints are recorded relative to the store, so export works from any directory; stores that
// recorded them relative to the sweep's directory still find them beside the store.
TEST_F(DataSafety, ExportFindsTheCheckpointFromAnyDirectory) {
  const std::string file = dir.write("rel.json", spec_text("rel", R"({"seed": 7})")).string();
  std::filesystem::create_directories(dir / "work");
  testing::SpawnOptions in_work;
  in_work.cwd = dir / "work";
  auto r = testing::run_process({kR2q, "sweep", file, "--db", "../runs/rel.db"}, dir.path(), in_work);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  store::Store s(dir / "runs/rel.db", store::Store::Mode::ReadOnly);
  const auto run = s.runs().at(0);
  EXPECT_EQ(*run.checkpoint, "rel.db.checkpoints/" + run.key + ".pt");
  testing::SpawnOptions elsewhere;
  elsewhere.cwd = dir.path();
  auto exported = r2q({"export", run.key, "--db", (dir / "runs/rel.db").string(), "-o", "m.r2q"}, elsewhere);
  EXPECT_EQ(exported.exit_code, 0) << exported.err;
  // As a sweep run from the repository with the default --db runs/r2q.db recorded it before, in the layout of
  // the time (one checkpoints/ directory beside the store).
  std::filesystem::create_directories(dir / "runs/checkpoints");
  std::filesystem::rename(dir / "runs/rel.db.checkpoints" / (run.key + ".pt"),
                          dir / "runs/checkpoints" / (run.key + ".pt"));
  sql(dir / "runs/rel.db", "UPDATE runs SET checkpoint = 'runs/checkpoints/" + run.key + ".pt'");
  exported = r2q({"export", run.key, "--db", (dir / "runs/rel.db").string(), "-o", "m2.r2q"}, elsewhere);
  EXPECT_EQ(exported.exit_code, 0) << exported.err;
}

// Two stores in one directory keep their own checkpoints: a second store's sweep of the same spec (equal
// configs, equal run keys) trains its run and checkpoints it in its own directory; the first store's
// checkpoint is left as it was.
TEST_F(DataSafety, StoresSideBySideKeepTheirOwnCheckpoints) {
  const std::string file = dir.write("done.json", spec_text("done")).string();
  const auto first = dir / "runs/r2q.db.checkpoints" / (key + ".pt");
  const std::string intact = testing::read_text(first);
  const auto other = dir / "runs/other.db";
  auto r = r2q({"sweep", file, "--db", other.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("resuming"), std::string::npos) << r.err;
  store::Store s(other, store::Store::Mode::ReadOnly);
  EXPECT_EQ(s.run(key)->checkpoint.value_or("none"), "other.db.checkpoints/" + key + ".pt");
  EXPECT_TRUE(std::filesystem::is_regular_file(dir / "runs/other.db.checkpoints" / (key + ".pt")));
  EXPECT_EQ(s.final_metrics(key).at("test/acc"), before.at(key).metrics.at({"test/acc", 1}).first);
  EXPECT_EQ(testing::read_text(first), intact);
}

// A store written when checkpoints shared one checkpoints/ directory resumes its runs from the checkpoints it
// recorded there: here a garbage one, which the sweep reads, sets aside beside it, and starts the run over.
TEST_F(DataSafety, AStoreOfTheSharedLayoutResumesFromItsRecordedCheckpoint) {
  const std::string file = dir.write("done.json", spec_text("done")).string();
  dir.write("runs/checkpoints/" + key + ".pt", std::string(4096, 'x'));
  sql(db(), "UPDATE runs SET status = 'pending', epoch = 1, checkpoint = 'checkpoints/" + key + ".pt'");
  auto r = r2q({"sweep", file, "--db", db().string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("not an r2q checkpoint"), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "runs/checkpoints" / (key + ".pt.damaged")));
  store::Store s(db(), store::Store::Mode::ReadOnly);
  EXPECT_EQ(s.run(key)->status, store::RunStatus::Finished);
  EXPECT_EQ(s.final_metrics(key).at("test/acc"), before.at(key).metrics.at({"test/acc", 1}).first);
}

// A spec of two runs that take a few seconds each.
std::string slow_spec(testing::TempDir& dir, const std::string& name) {
  return dir
      .write(
          name + ".json",
          spec_text(name, R"({"train": {"epochs": 60, "batch_size": 16}, "dataset": {"train_limit": 1000}})"))
      .string();
}

// A run that has been running for `epochs` epochs at least.
std::optional<store::RunRecord> running_run(const std::filesystem::path& db, int epochs = 1) {
  try {
    store::Store s(db, store::Store::Mode::ReadOnly);
    for (auto& run : s.runs())
      if (run.status == store::RunStatus::Running && run.epoch >= epochs) return run;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// Item 5: a live sweep's run is never taken by a second sweep on the same host, whatever --stale-after says.
TEST_F(DataSafety, ALiveSweepKeepsItsRunWhateverStaleAfterSays) {
  const std::string file = slow_spec(dir, "live");
  testing::Process first({kR2q, "sweep", file, "--db", db().string()}, dir.path(), "first");
  ASSERT_TRUE(testing::wait_until([&] { return running_run(db()).has_value(); }, 120s));
  auto second = r2q({"sweep", file, "--db", db().string(), "--stale-after", "0.001"});
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("running in worker"), std::string::npos) << second.err;
  auto r = first.wait();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  store::Store s(db(), store::Store::Mode::ReadOnly);
  for (const auto& run : s.runs(std::string("live"))) {
    EXPECT_EQ(run.status, store::RunStatus::Finished);
    EXPECT_EQ(run.attempt, 1);
  }
}

// Items 4 and 14: SIGTERM to the parent of `sweep -j 2` reaches the workers (exit 130, runs resumable); a
// worker killed by a signal is named with its run and the signal (exit 1). The next sweep finishes the grid.
TEST_F(DataSafety, SignalsToAndOfSweepWorkers) {
  json spec = json::parse(spec_text("workers", R"({"train": {"epochs": 20, "batch_size": 16},
      "dataset": {"train_limit": 1000}})"));
  spec["grid"] = {{"seed", {1, 2, 3, 4}}};
  const std::string file = dir.write("workers.json", spec.dump()).string();

  testing::Process parent({kR2q, "sweep", file, "--db", db().string(), "-j", "2", "--threads", "2"},
                          dir.path(), "term");
  ASSERT_TRUE(testing::wait_until([&] { return running_run(db()).has_value(); }, 120s));
  parent.signal(SIGTERM);
  auto r = parent.wait();
  EXPECT_EQ(r.exit_code, 130) << r.err;
  {
    store::Store s(db(), store::Store::Mode::ReadOnly);
    int unfinished = 0;
    for (const auto& run : s.runs(std::string("workers")))
      unfinished += run.status != store::RunStatus::Finished;
    EXPECT_GT(unfinished, 0);
  }

  testing::Process again({kR2q, "sweep", file, "--db", db().string(), "-j", "2", "--threads", "2"},
                         dir.path(), "kill");
  std::optional<store::RunRecord> victim;
  // Half-way through a run (the parent has seen who holds it).
  ASSERT_TRUE(testing::wait_until([&] { return (victim = running_run(db(), 8)).has_value(); }, 120s));
  ::kill(static_cast<pid_t>(victim->pid), SIGKILL);
  r = again.wait();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(") was killed by SIGKILL"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("while running run " + victim->key.substr(0, 12)), std::string::npos) << r.err;

  r = r2q({"sweep", file, "--db", db().string(), "-j", "2", "--threads", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  store::Store s(db(), store::Store::Mode::ReadOnly);
  for (const auto& run : s.runs(std::string("workers"))) EXPECT_EQ(run.status, store::RunStatus::Finished);
  EXPECT_EQ(testing::finished_runs(db()).at(key), before.at(key));
}

}  // namespace
}  // namespace r2q
