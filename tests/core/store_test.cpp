// The SQLite store: schema and migrations, identification of foreign files, idempotent inserts, the run
// lifecycle (claim, ownership, release, finish, fail) and metrics.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <functional>
#include <set>
#include <type_traits>

#include "core/store/sqlite.h"
#include "core/store/store.h"
#include "core/util/error.h"
#include "tests/support/store_checks.h"
#include "tests/support/temp_dir.h"

namespace r2q::store {
namespace {

using nlohmann::json;
using r2q::testing::TempDir;

std::vector<RunToAdd> two_runs() {
  return {{"k1", r2q::testing::minimal_config(0)}, {"k2", r2q::testing::minimal_config(1)}};
}

Claimant worker(const std::string& name, bool alive_others = true) {
  Claimant c;
  c.worker = name;
  c.host = "host";
  c.pid = 1;
  c.holder_alive = [alive_others](const RunRecord&) { return alive_others; };
  return c;
}

TEST(Store, CreatesSchemaWithVersionAndApplicationId) {
  TempDir dir;
  auto path = dir / "sub/dir/r2q.db";
  {
    Store s(path, Store::Mode::ReadWrite);
    EXPECT_EQ(s.schema_version(), kSchemaVersion);
  }
  Database db(path, Database::Mode::ReadOnly);
  EXPECT_EQ(db.pragma_int("application_id"), kApplicationId);
  EXPECT_EQ(db.pragma_int("user_version"), kSchemaVersion);
  Store again(path, Store::Mode::ReadWrite);  // reopening is a no-op
  EXPECT_EQ(again.schema_version(), kSchemaVersion);
}

TEST(Store, RefusesAStoreFromANewerR2q) {
  TempDir dir;
  auto path = dir / "r2q.db";
  { Store s(path, Store::Mode::ReadWrite); }
  {
    Database db(path, Database::Mode::ReadWrite);
    db.exec("PRAGMA user_version = 99");
  }
  try {
    Store s(path, Store::Mode::ReadWrite);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("newer r2q (store schema version 99"), std::string::npos)
        << e.what();
  }
}

TEST(Store, RefusesFilesThatAreNotR2qStores) {
  TempDir dir;
  auto text = dir.write("notes.db",
                        "these are not the bytes of an SQLite database, just some text padding it out....");
  EXPECT_THROW(Store(text, Store::Mode::ReadWrite), InputError);
  auto other = dir / "other.db";
  {
    Database db(other, Database::Mode::ReadWrite);
    db.exec("CREATE TABLE t(x)");
  }
  try {
    Store s(other, Store::Mode::ReadWrite);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not an r2q store"), std::string::npos) << e.what();
  }
  // Nothing of the foreign database was touched.
  Database db(other, Database::Mode::ReadOnly);
  EXPECT_EQ(db.pragma_int("user_version"), 0);
}

// Issue 20: the real cause, not "schema version 0 needs an upgrade" or "has other tables".
TEST(Store, AnEmptyFileAndAStoreWithoutItsHeaderFieldsAreNamed) {
  TempDir dir;
  auto message = [](const std::filesystem::path& path) -> std::string {
    try {
      Store s(path, Store::Mode::ReadOnly);
    } catch (const InputError& e) {
      return e.what();
    }
    return "opened";
  };
  const auto empty = dir.write("empty.db", "");
  EXPECT_NE(message(empty).find("an empty database, not an r2q store yet (nothing has been written"),
            std::string::npos)
      << message(empty);
  dir.write("empty.db-shm", "");  // what is left when the -wal file of a fresh store is deleted
  EXPECT_NE(message(empty).find("if the -wal file was deleted, what it held is lost"), std::string::npos)
      << message(empty);

  // What `sqlite3 s.db .dump | sqlite3 t.db` gives: the tables, without application_id and user_version.
  const auto dumped = dir / "dumped.db";
  { Store s(dumped, Store::Mode::ReadWrite); }
  {
    Database db(dumped, Database::Mode::ReadWrite);
    db.exec("PRAGMA application_id = 0");
    db.exec("PRAGMA user_version = 0");
  }
  EXPECT_NE(message(dumped).find("has r2q's tables but not r2q's application id"), std::string::npos)
      << message(dumped);
}

TEST(Store, ReadOnlyOpenOfAMissingStoreSaysWhatToDo) {
  TempDir dir;
  try {
    Store s(dir / "none.db", Store::Mode::ReadOnly);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("r2q sweep"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "none.db"));
}

TEST(Store, AddingAnExperimentTwiceIsIdempotentAndKeepsRunState) {
  TempDir dir;
  Store s(dir / "r2q.db", Store::Mode::ReadWrite);
  s.add_experiment("e", json{{"name", "e"}}, "e.json", two_runs());
  ASSERT_EQ(s.claim("k1", worker("w"), json::object(), "abc", false), ClaimResult::Claimed);
  s.finish("k1", "w", {{"test/acc", 2, 0.5}});
  s.add_experiment("e", json{{"name", "e"}}, "e.json", two_runs());
  auto runs = s.runs(std::string("e"));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].status, RunStatus::Finished);
  EXPECT_EQ(runs[1].status, RunStatus::Pending);
  EXPECT_EQ(s.experiments(), std::vector<std::string>{"e"});
  EXPECT_EQ(s.experiments_of("k1"), std::vector<std::string>{"e"});
}

TEST(Store, ExperimentBecomesWhatItsSpecSaysNow) {
  TempDir dir;
  Store s(dir / "r2q.db", Store::Mode::ReadWrite);
  s.add_experiment("e", json::object(), "e.json", two_runs());
  s.add_experiment("e", json::object(), "e.json", {two_runs()[1]});
  EXPECT_EQ(s.experiment_runs("e"), std::vector<std::string>{"k2"});
  EXPECT_TRUE(s.run("k1").has_value());  // the run itself is kept
  s.add_experiment("e", json::object(), "e.json", {two_runs()[0]}, /*replace_runs=*/false);
  EXPECT_EQ(s.experiment_runs("e"), (std::vector<std::string>{"k2", "k1"}));
}

// `sweep --replace` (issue 20): the earlier version keeps its spec and its runs in their order, under the
// first free "NAME~k"; the experiment itself is untouched until the new spec is added.
TEST(Store, AKeptVersionHasTheSpecAndRunsOfTheEarlierOne) {
  TempDir dir;
  Store s(dir / "r2q.db", Store::Mode::ReadWrite);
  s.add_experiment("e", json{{"v", 1}}, "e.json", two_runs());
  EXPECT_EQ(s.keep_experiment_version("e"), "e~1");
  s.add_experiment("e", json{{"v", 2}}, "e.json", {two_runs()[1]});
  EXPECT_EQ(s.keep_experiment_version("e"), "e~2");
  EXPECT_EQ(s.experiment_runs("e~1"), (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(s.experiment_runs("e~2"), std::vector<std::string>{"k2"});
  EXPECT_EQ(s.experiment_runs("e"), std::vector<std::string>{"k2"});
  EXPECT_EQ(s.experiments(), (std::vector<std::string>{"e", "e~1", "e~2"}));
  EXPECT_EQ(s.experiments_of("k1"), std::vector<std::string>{"e~1"});
}

TEST(Store, ClaimLifecycle) {
  TempDir dir;
  Store s(dir / "r2q.db", Store::Mode::ReadWrite);
  s.add_experiment("e", json::object(), "e.json", two_runs());
  EXPECT_EQ(s.claim("k1", worker("a"), json{{"cpu", "x"}}, "abc", true), ClaimResult::Claimed);
  // Held by a live worker: nobody else gets it.
  EXPECT_EQ(s.claim("k1", worker("b", /*alive_others=*/true), json::object(), "abc", false),
            ClaimResult::HeldByOther);
  // Its holder died: reclaimed, attempt counted.
  EXPECT_EQ(s.claim("k1", worker("b", /*alive_others=*/false), json::object(), "abc", false),
            ClaimResult::Claimed);
  auto r = s.run("k1");
  EXPECT_EQ(r->attempt, 2);
  EXPECT_EQ(r->worker, "b");
  EXPECT_TRUE(r->git_commit == "abc");
  // The old holder can no longer write.
  EXPECT_THROW(s.heartbeat("k1", "a"), RunError);
  EXPECT_THROW(s.record_metrics("k1", "a", {{"train/loss", 1, 0.1}}), RunError);
  s.record_checkpoint("k1", "b", "/ckpt/k1.pt", 1);
  s.release("k1", "b", "interrupted");
  r = s.run("k1");
  EXPECT_EQ(r->status, RunStatus::Pending);
  EXPECT_EQ(r->epoch, 1);
  EXPECT_EQ(r->checkpoint, "/ckpt/k1.pt");
  EXPECT_EQ(s.claim("k1", worker("c"), json::object(), "abc", false), ClaimResult::Claimed);
  s.fail("k1", "c", "training diverged");
  EXPECT_EQ(s.claim("k1", worker("d"), json::object(), "abc", false), ClaimResult::Failed);
  auto retry = worker("d");
  retry.retry_failed = true;
  EXPECT_EQ(s.claim("k1", retry, json::object(), "abc", false), ClaimResult::Claimed);
  s.finish("k1", "d", {{"test/acc", 2, 0.9}});
  EXPECT_EQ(s.claim("k1", retry, json::object(), "abc", false), ClaimResult::AlreadyFinished);
  EXPECT_EQ(s.run("k1")->error, std::nullopt);
}

TEST(Store, MetricsAreIdempotentAndFinalValuesAreTheLastStep) {
  TempDir dir;
  Store s(dir / "r2q.db", Store::Mode::ReadWrite);
  s.add_experiment("e", json::object(), "e.json", two_runs());
  s.claim("k1", worker("w"), json::object(), "abc", false);
  s.record_metrics("k1", "w", {{"train/loss", 1, 2.0}, {"val/acc", 1, 0.3}});
  s.record_metrics("k1", "w", {{"train/loss", 2, 1.0}, {"val/acc", 2, 0.6}});
  s.record_metrics("k1", "w", {{"train/loss", 2, 1.0}, {"val/acc", 2, 0.6}});  // epoch 2 again after a resume
  s.finish("k1", "w", {{"test/acc", 2, 0.55}});
  EXPECT_EQ(s.metrics("k1").size(), 5u);
  auto finals = s.final_metrics("k1");
  EXPECT_DOUBLE_EQ(finals["train/loss"], 1.0);
  EXPECT_DOUBLE_EQ(finals["val/acc"], 0.6);
  EXPECT_DOUBLE_EQ(finals["test/acc"], 0.55);
}

TEST(Store, ParamsAreFlattenedForQueries) {
  TempDir dir;
  auto path = dir / "r2q.db";
  {
    Store s(path, Store::Mode::ReadWrite);
    s.add_experiment("e", json::object(), "e.json", two_runs());
  }
  Database db(path, Database::Mode::ReadOnly);
  auto& q = db.prepare("SELECT value FROM params WHERE run_key = 'k2' AND path = 'train.epochs'");
  ResetGuard guard(q);
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.get_text(0), "2");
}

// Found by fuzz/fuzz_store: a row whose config is not JSON (a damaged or hand-edited store) is bad input
// naming the store and the run, not an internal error.
TEST(Store, ADamagedConfigColumnNamesTheRun) {
  TempDir dir;
  auto path = dir / "r2q.db";
  {
    Store s(path, Store::Mode::ReadWrite);
    s.add_experiment("e", json::object(), "e.json", two_runs());
  }
  {
    Database db(path, Database::Mode::ReadWrite);
    db.exec("UPDATE runs SET config = '{\"seed\": ' WHERE run_key = 'k2'");
  }
  Store s(path, Store::Mode::ReadOnly);
  try {
    s.runs();
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string() + ": run k2: the stored config is not valid JSON"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace r2q::store

namespace r2q::store {
namespace {

// A store at `path` whose runs `keys` are finished with test/acc = `acc` (or left pending when acc < 0).
void make_store(const std::filesystem::path& path, const std::string& experiment,
                const std::vector<std::pair<std::string, double>>& runs) {
  Store s(path, Store::Mode::ReadWrite);
  std::vector<RunToAdd> add;
  for (const auto& [key, acc] : runs)
    add.push_back(
        {key, r2q::testing::minimal_config(static_cast<std::int64_t>(std::hash<std::string>{}(key) >> 2))});
  s.add_experiment(experiment, json{{"name", experiment}}, experiment + ".json", add, true);
  auto me = worker("w");
  for (const auto& [key, acc] : runs) {
    if (acc < 0) continue;
    ASSERT_EQ(s.claim(key, me, json::object(), "abc", false), ClaimResult::Claimed);
    s.record_metrics(key, "w", {{"train/loss", 1, 0.5}});
    s.finish(key, "w", {{"test/acc", 1, acc}, {"train/seconds", 1, acc * 100}});
  }
}

TEST(StoreMerge, CopiesTakesOverFinishedRunsIsIdempotentAndReportsConflicts) {
  TempDir dir;
  make_store(dir / "a.db", "e", {{"k1", 0.9}, {"k2", -1}});
  make_store(dir / "b.db", "e", {{"k2", 0.8}, {"k3", 0.7}});
  Store out(dir / "out.db", Store::Mode::ReadWrite);
  auto ra = out.merge_from(dir / "a.db");
  EXPECT_EQ(ra.copied, 2);
  auto rb = out.merge_from(dir / "b.db");
  EXPECT_EQ(rb.copied, 1);    // k3
  EXPECT_EQ(rb.replaced, 1);  // k2: pending here, finished there
  EXPECT_TRUE(rb.conflicts.empty());
  EXPECT_EQ(out.run("k2")->status, RunStatus::Finished);
  EXPECT_DOUBLE_EQ(out.final_metrics("k2").at("test/acc"), 0.8);
  EXPECT_EQ(out.metrics("k1").size(), 3u);  // the curve and both finals came along
  auto keys = out.experiment_runs("e");
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), (std::set<std::string>{"k1", "k2", "k3"}));

  // Idempotent: the same stores again change nothing.
  auto again = out.merge_from(dir / "b.db");
  EXPECT_EQ(again.copied + again.replaced, 0);
  EXPECT_EQ(again.identical, 2);
  EXPECT_EQ(out.metrics("k3").size(), 3u);
  EXPECT_EQ(out.runs().size(), 3u);

  // A different finished result for k1 is reported, and ours is kept.
  make_store(dir / "c.db", "e", {{"k1", 0.5}});
  auto rc = out.merge_from(dir / "c.db");
  ASSERT_EQ(rc.conflicts.size(), 1u);
  EXPECT_NE(rc.conflicts[0].find("k1: test/acc 0.9 here vs 0.5 there"), std::string::npos) << rc.conflicts[0];
  EXPECT_DOUBLE_EQ(out.final_metrics("k1").at("test/acc"), 0.9);

  // Not a store / itself: clear errors.
  EXPECT_THROW(out.merge_from(dir / "missing.db"), InputError);
  EXPECT_THROW(out.merge_from(dir / "out.db"), InputError);
}

}  // namespace
}  // namespace r2q::store

namespace r2q::store {
namespace {

// Found by fuzz/fuzz_store: a file whose SQLite header announces an unsupported schema format (or whose
// tables are not r2q's) fails statements at prepare time; that is a damaged store, reported as bad input.
TEST(Store, AFileWhoseStatementsDoNotCompileIsNotAUsableStore) {
  TempDir dir;
  auto path = dir / "r2q.db";
  {
    Store s(path, Store::Mode::ReadWrite);
    s.add_experiment("e", json::object(), "e.json", {});
  }
  {
    Database db(path, Database::Mode::ReadWrite);
    db.exec("DROP TABLE metrics");
  }
  Store s(path, Store::Mode::ReadOnly);
  try {
    s.metrics("k1");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not a usable r2q store (no such table: metrics"), std::string::npos)
        << e.what();
  }
}

// Every value reaches SQL as a bound parameter: text that is SQL, quotes and NULs included, is stored and
// read back as it was written, and runs nothing (issue 8, docs/RELIABILITY.md).
TEST(Store, ValuesAreBoundNeverSpliced) {
  TempDir dir;
  const std::string evil = "x'); DROP TABLE runs; --\" \\ %_ ?1 :a \n";
  const std::string with_nul = std::string("nul") + '\0' + "after";
  Store s(dir / "r2q.db", Store::Mode::ReadWrite);
  json config = r2q::testing::minimal_config(0);
  config[evil] = evil;
  config["nul"] = with_nul;
  s.add_experiment(evil, json{{"name", evil}}, evil, {{evil, config}});
  Claimant who = worker(evil);
  ASSERT_EQ(s.claim(evil, who, json{{"e", evil}}, evil, false), ClaimResult::Claimed);
  s.record_metrics(evil, evil, {{evil, 1, 0.5}});
  s.fail(evil, evil, evil);
  EXPECT_EQ(s.experiments(), std::vector<std::string>{evil});
  EXPECT_EQ(s.experiment_runs(evil), std::vector<std::string>{evil});
  auto run = s.run(evil);
  ASSERT_TRUE(run);
  EXPECT_EQ(run->config, config);
  EXPECT_EQ(run->config["nul"].get<std::string>().size(), with_nul.size());
  EXPECT_EQ(run->worker, evil);
  EXPECT_EQ(run->error, evil);
  EXPECT_EQ(run->git_commit, evil);
  EXPECT_EQ(s.metrics(evil).at(0).name, evil);
  EXPECT_EQ(s.runs().size(), 1u);  // the runs table is still there
}

// Issue 22: every SQLite result code a damaged or hostile file can produce is one of r2q's error kinds, in
// one place; none escapes as a plain std::runtime_error (reported as an internal error).
TEST(SqliteErrors, EveryResultCodeHasAKind) {
  EXPECT_EQ(error_kind(SQLITE_BUSY), ErrorKind::Busy);
  EXPECT_EQ(error_kind(SQLITE_LOCKED_SHAREDCACHE), ErrorKind::Busy);
  EXPECT_EQ(error_kind(SQLITE_INTERRUPT), ErrorKind::Interrupted);
  EXPECT_EQ(error_kind(SQLITE_FULL), ErrorKind::System);
  EXPECT_EQ(error_kind(SQLITE_IOERR_WRITE), ErrorKind::System);
  EXPECT_EQ(error_kind(SQLITE_IOERR_SHORT_READ), ErrorKind::Damaged);
  EXPECT_EQ(error_kind(SQLITE_MISUSE), ErrorKind::Bug);
  for (int code : {SQLITE_NOMEM, SQLITE_CORRUPT, SQLITE_CORRUPT_INDEX, SQLITE_NOTADB, SQLITE_CANTOPEN,
                   SQLITE_PERM, SQLITE_READONLY, SQLITE_FORMAT, SQLITE_RANGE, SQLITE_TOOBIG, SQLITE_SCHEMA,
                   SQLITE_MISMATCH, SQLITE_CONSTRAINT, SQLITE_ERROR, SQLITE_AUTH, SQLITE_NOTFOUND})
    EXPECT_EQ(error_kind(code), ErrorKind::Damaged) << code;
  static_assert(std::is_base_of_v<RunError, BusyError>);
}

// Issue 22, found by CI's fuzzing (fuzz/regressions/store/store-nomem.db): a damaged store on which SQLite
// reports "out of memory" while the report's metrics pass runs on a second thread. Every reader says so as
// bad input naming the store; the worker thread's error arrives as the same kind.
TEST(SqliteErrors, ADamagedStoreIsBadInputForEveryReader) {
  const std::filesystem::path file = R2Q_SOURCE_DIR "/fuzz/regressions/store/store-nomem.db";
  TempDir dir;
  const auto path = dir / "nomem.db";
  std::filesystem::copy_file(file, path);
  auto input_error = [&](auto&& read) {
    try {
      Store s(path, Store::Mode::ReadOnly);
      read(s);
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
      return true;
    }
    return false;
  };
  EXPECT_TRUE(input_error([](Store& s) {
    for (const auto& run : s.runs()) s.final_metrics(run.key);
  }));
  EXPECT_TRUE(input_error([](Store& s) { s.scan_metrics([](auto, auto, auto, auto) {}); }));
}

TEST(Store, DamagedRowsAreNamedWithTheirColumn) {
  TempDir dir;
  auto path = dir / "r2q.db";
  {
    Store s(path, Store::Mode::ReadWrite);
    s.add_experiment("e", json::object(), "e.json", two_runs());
  }
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"UPDATE runs SET config = '[1,2]' WHERE run_key = 'k2'",
       "run k2: the stored config is not a JSON object"},
      {"UPDATE runs SET config = '{}' WHERE run_key = 'k2'",
       "run k2: the stored config has no field dataset.name"},
      {"UPDATE runs SET config = json_set(config, '$.seed', 'x') WHERE run_key = 'k2'",
       "run k2: the stored config has seed = \"x\" (expected an integer)"},
      {"UPDATE runs SET environment = '[]' WHERE run_key = 'k2'",
       "run k2: the stored environment is not a JSON"},
      {"UPDATE runs SET config = '" + std::string(100, '[') + std::string(100, ']') +
           "' WHERE run_key = 'k2'",
       "run k2: the stored config is JSON nested 100 levels deep"}};
  for (const auto& [statement, message] : cases) {
    const auto copy = dir / "copy.db";
    std::filesystem::copy_file(path, copy, std::filesystem::copy_options::overwrite_existing);
    Database(copy, Database::Mode::ReadWrite).exec(statement);
    Store s(copy, Store::Mode::ReadOnly);
    try {
      s.runs();
      ADD_FAILURE() << "no error for " << statement;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
}

TEST(Store, AMetricThatIsNotANumberIsNamedNotReadAsZero) {
  TempDir dir;
  auto path = dir / "r2q.db";
  {
    Store s(path, Store::Mode::ReadWrite);
    s.add_experiment("e", json::object(), "e.json", two_runs());
    auto me = worker("w");
    ASSERT_EQ(s.claim("k1", me, json::object(), "abc", false), ClaimResult::Claimed);
    s.finish("k1", "w", {{"test/acc", 1, 0.5}});
  }
  Database(path, Database::Mode::ReadWrite).exec("UPDATE metrics SET value = 'abc'");
  Store s(path, Store::Mode::ReadOnly);
  for (const auto& read :
       std::vector<std::function<void()>>{[&] { s.final_metrics("k1"); }, [&] { s.metrics("k1"); },
                                          [&] { s.scan_metrics([](auto, auto, auto, auto) {}); }}) {
    try {
      read();
      ADD_FAILURE() << "no error";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("run k1: metric test/acc has the value 'abc', not a number"),
                std::string::npos)
          << e.what();
    }
  }
}

// Issue 15: merge copies only rows this store can read back; the rest are listed and left out.
TEST(StoreMerge, DamagedRowsAreSkippedAndListed) {
  TempDir dir;
  make_store(dir / "in.db", "e", {{"k1", 0.9}, {"k2", 0.8}, {"k3", 0.7}});
  {
    Database d(dir / "in.db", Database::Mode::ReadWrite);
    d.exec("UPDATE runs SET environment = 'x' WHERE run_key = 'k1'");
    d.exec("UPDATE runs SET config = '{}' WHERE run_key = 'k2'");
    d.exec("UPDATE metrics SET value = 'abc' WHERE run_key = 'k3' AND name = 'test/acc'");
  }
  Store out(dir / "out.db", Store::Mode::ReadWrite);
  auto r = out.merge_from(dir / "in.db");
  EXPECT_EQ(r.copied, 1);  // k3, without its damaged metric
  ASSERT_EQ(r.skipped.size(), 3u) << ::testing::PrintToString(r.skipped);
  EXPECT_EQ(r.skipped[0], "k1: its environment is not valid JSON");
  EXPECT_EQ(r.skipped[1], "k2: its config has no field dataset.name");
  EXPECT_EQ(r.skipped[2], "k3: metric test/acc (step 1) is not a number");
  EXPECT_EQ(out.runs().size(), 1u);
  EXPECT_FALSE(out.final_metrics("k3").contains("test/acc"));
  EXPECT_EQ(out.experiment_runs("e"), std::vector<std::string>{"k3"});
}

}  // namespace
}  // namespace r2q::store
