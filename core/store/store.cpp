// The experiment store on SQLite.
#include "core/store/store.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "core/store/migrations.h"
#include "core/store/sqlite.h"
#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q::store {
namespace {

using nlohmann::json;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void flatten(const json& value, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& out) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it)
      flatten(*it, prefix.empty() ? it.key() : prefix + "." + it.key(), out);
  } else {
    out.emplace_back(prefix, value.dump());
  }
}

constexpr const char* kRunColumns =
    "run_key, config, status, attempt, worker, host, pid, heartbeat, started, finished, epoch, error, "
    "checkpoint, "
    "git_commit, git_dirty, environment, created";

// A stored JSON column; a damaged store (edited by hand, corrupted) is bad input that names the run, not a
// crash.
json parse_column(const Statement& s, int column, const char* name, const std::string& key,
                  const std::filesystem::path& store) {
  if (const int depth = json_depth(s.get_view(column)); depth > kMaxJsonDepth)
    throw InputError(store.string() + ": run " + key + ": the stored " + name + " is JSON nested " +
                     std::to_string(depth) + " levels deep; r2q accepts at most " +
                     std::to_string(kMaxJsonDepth) + "; the store is damaged");
  try {
    return json::parse(s.get_view(column));
  } catch (const json::exception& e) {
    throw InputError(store.string() + ": run " + key + ": the stored " + name + " is not valid JSON (" +
                     e.what() + "); the store is damaged");
  }
}

// A stored metric's value: a number, else the row is damaged (SQLite would read text such as 'abc' as 0).
double metric_value(const Statement& s, int column, const std::filesystem::path& store, std::string_view key,
                    std::string_view name) {
  if (!s.is_number(column))
    throw InputError(
        store.string() + ": run " + std::string(key) + ": metric " + std::string(name) + " has " +
        (s.is_null(column) ? "no value" : "the value '" + s.get_text(column) + "', not a number") +
        "; the store is damaged");
  return s.get_double(column);
}

// What makes a source row of a merge unreadable here ("" when nothing): its status, config and environment
// columns are checked as read_run checks them.
std::string source_row_problem(const Statement& s, int status, int config, int environment) {
  if (!valid_status(s.get_view(status)))
    return "its status " + quoted_value(s.get_text(status)) + " is not valid";
  for (const auto& [column, name] : {std::pair{config, "config"}, std::pair{environment, "environment"}}) {
    const std::string_view text = s.get_view(column);
    if (json_depth(text) > kMaxJsonDepth) return std::string("its ") + name + " is nested too deeply";
    json value;
    try {
      value = json::parse(text);
    } catch (const json::exception&) {
      return std::string("its ") + name + " is not valid JSON";
    }
    if (name == std::string_view("environment") && !value.is_object())
      return "its environment is not a JSON object";
    if (name == std::string_view("config"))
      if (std::string problem = config_problem(value); !problem.empty()) return "its config " + problem;
  }
  return "";
}

RunRecord read_run(const Statement& s, const std::filesystem::path& store, bool environment = true) {
  RunRecord r;
  r.key = s.get_text(0);
  r.config = parse_column(s, 1, "config", r.key, store);
  if (const std::string problem = config_problem(r.config); !problem.empty())
    throw InputError(store.string() + ": run " + r.key + ": the stored config " + problem +
                     "; the store is damaged");
  if (const std::string status = s.get_text(2); !valid_status(status))
    throw InputError(store.string() + ": run " + r.key + ": the stored status " + quoted_value(status) +
                     " is not one of pending, running, finished, failed; the store is damaged");
  r.status = parse_status(s.get_text(2));
  r.attempt = static_cast<int>(s.get_int(3));
  r.worker = s.get_optional_text(4);
  r.host = s.get_optional_text(5);
  r.pid = s.get_int(6);
  r.heartbeat = s.get_optional_double(7);
  r.started = s.get_optional_double(8);
  r.finished = s.get_optional_double(9);
  r.epoch = static_cast<int>(s.get_int(10));
  r.error = s.get_optional_text(11);
  r.checkpoint = s.get_optional_text(12);
  r.git_commit = s.get_optional_text(13);
  r.git_dirty = s.get_int(14) != 0;
  if (environment) {
    r.environment = parse_column(s, 15, "environment", r.key, store);
    if (!r.environment.is_object())
      throw InputError(store.string() + ": run " + r.key + ": the stored environment is not a JSON object; " +
                       "the store is damaged");
  }
  r.created = s.get_double(16);
  return r;
}

}  // namespace

const char* to_string(RunStatus status) {
  switch (status) {
    case RunStatus::Pending:
      return "pending";
    case RunStatus::Running:
      return "running";
    case RunStatus::Finished:
      return "finished";
    case RunStatus::Failed:
      return "failed";
  }
  return "?";
}

// The fields of a stored config that r2q's readers rely on (list, status, export, report labels), with their
// JSON types. A row written by r2q always has them: a row without one is a damaged or hand-made row.
std::string config_problem(const json& config) {
  if (!config.is_object()) return "is not a JSON object";
  using T = json::value_t;
  static const std::pair<const char*, std::vector<T>> required[] = {
      {"/dataset/name", {T::string}},
      {"/model/name", {T::string}},
      {"/quant/method", {T::string}},
      {"/quant/weight_bits", {T::number_unsigned, T::number_integer}},
      {"/quant/act_bits", {T::number_unsigned, T::number_integer}},
      {"/quant/first_last_bits", {T::number_unsigned, T::number_integer}},
      {"/train/epochs", {T::number_unsigned, T::number_integer}},
      {"/seed", {T::number_unsigned, T::number_integer}}};
  for (const auto& [pointer, types] : required) {
    const json::json_pointer where(pointer);
    std::string name = std::string(pointer + 1);
    std::replace(name.begin(), name.end(), '/', '.');
    if (!config.contains(where)) return "has no field " + name;
    if (std::find(types.begin(), types.end(), config.at(where).type()) == types.end())
      return "has " + name + " = " + config.at(where).dump() + " (expected " +
             (types[0] == T::string ? "a string" : "an integer") + ")";
  }
  return "";
}

bool valid_status(std::string_view text) {
  return text == "pending" || text == "running" || text == "finished" || text == "failed";
}

RunStatus parse_status(const std::string& text) {
  if (text == "pending") return RunStatus::Pending;
  if (text == "running") return RunStatus::Running;
  if (text == "finished") return RunStatus::Finished;
  if (text == "failed") return RunStatus::Failed;
  throw InputError("unknown run status " + quoted_value(text) + " in store");
}

Store::Store(const std::filesystem::path& path, Mode mode) : path_(path) {
  std::error_code ec;
  if (mode == Mode::ReadOnly) {
    if (!std::filesystem::exists(path, ec))
      throw InputError(path.string() + ": no store here (run `r2q sweep SPEC` first, or pass --db FILE)");
  } else if (path.has_parent_path() && !std::filesystem::exists(path.parent_path(), ec)) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec)
      throw InputError(path.parent_path().string() +
                       ": cannot create the store's directory: " + ec.message());
  }
  db_ = std::make_unique<Database>(
      path, mode == Mode::ReadOnly ? Database::Mode::ReadOnly : Database::Mode::ReadWrite);
  db_->exec("PRAGMA busy_timeout = 5000");

  // Identify the file before changing anything in it.
  std::int64_t app = db_->pragma_int("application_id");
  std::int64_t version = db_->pragma_int("user_version");
  if (app != 0 && app != kApplicationId)
    throw InputError(path.string() + ": not an r2q store (SQLite application_id " + std::to_string(app) +
                     ")");
  if (version > kSchemaVersion)
    throw InputError(path.string() + ": written by a newer r2q (store schema version " +
                     std::to_string(version) + "; this r2q reads up to " + std::to_string(kSchemaVersion) +
                     "); upgrade r2q");
  std::int64_t tables = 0;
  if (app == 0) {
    Statement& s = db_->prepare(
        "SELECT count(*), count(CASE WHEN name IN ('experiments', 'runs', 'metrics') THEN 1 END) "
        "FROM sqlite_master WHERE type = 'table'");
    ResetGuard guard(s);
    if (s.step()) tables = s.get_int(0);
    if (tables > 0 && s.get_int(1) == 3)
      // r2q's tables without r2q's header fields: what `sqlite3 .dump` and reloading, or a copy by another
      // tool, leaves. The data may be intact; r2q does not guess.
      throw InputError(
          path.string() +
          ": has r2q's tables but not r2q's application id and schema version "
          "(reloaded from an SQL dump, or copied table by table?); restore the original store file: "
          "r2q cannot tell which schema version these tables have");
    if (tables > 0)
      throw InputError(path.string() + ": an SQLite database, but not an r2q store (it has other tables)");
  }
  if (mode == Mode::ReadOnly) {
    if (app == 0 && version == 0 && tables == 0)
      // Nothing committed in the main file: a store that was never written, or one whose -wal file, which
      // held everything not yet checkpointed, is gone.
      throw InputError(path.string() + ": an empty database, not an r2q store yet" +
                       (std::filesystem::exists(path.string() + "-shm", ec)
                            ? std::string(" (its -shm file exists but no -wal: if the -wal file was deleted, "
                                          "what it held is lost)")
                            : std::string(" (nothing has been written to it; run `r2q sweep SPEC --db ") +
                                  path.string() + "`)"));
    // Reports scan whole tables: reading pages through a mapping saves a copy per page.
    db_->exec("PRAGMA mmap_size = 1073741824");
    if (version < kSchemaVersion)
      throw InputError(path.string() + ": store schema version " + std::to_string(version) +
                       " needs an upgrade; run a writing command (e.g. `r2q sweep`) on it first");
    return;
  }
  db_->exec("PRAGMA journal_mode = WAL");
  db_->exec("PRAGMA synchronous = FULL");
  db_->exec("PRAGMA foreign_keys = ON");
  migrate();
}

Store::~Store() = default;
Store::Store(Store&&) noexcept = default;

void Store::migrate() {
  const auto& ladder = migrations();
  static_assert(kSchemaVersion >= 1);
  if (static_cast<int>(ladder.size()) != kSchemaVersion)
    throw std::logic_error("migration ladder != schema version");
  while (true) {
    bool done = false;
    write([&] {
      // Re-read inside the transaction: another process may have migrated meanwhile.
      std::int64_t version = db_->pragma_int("user_version");
      if (version >= kSchemaVersion) {
        done = true;
        return;
      }
      db_->exec(ladder[static_cast<size_t>(version)]);
      db_->exec("PRAGMA user_version = " + std::to_string(version + 1));
      db_->exec("PRAGMA application_id = " + std::to_string(kApplicationId));
    });
    if (done) return;
  }
}

int Store::schema_version() {
  return static_cast<int>(db_->pragma_int("user_version"));
}

template <class F>
void Store::write(F&& body) {
  // busy_timeout waits inside SQLite; this outer loop covers what it does not (a BUSY from BEGIN IMMEDIATE
  // after the timeout, SQLITE_LOCKED), with jittered exponential backoff so that workers do not retry in
  // lockstep.
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::minutes(5);
  thread_local std::mt19937_64 rng(std::random_device{}());
  for (int attempt = 0;; ++attempt) {
    try {
      Transaction tx(*db_);
      body();
      tx.commit();
      return;
    } catch (const BusyError& e) {
      if (Clock::now() > deadline)
        throw RunError(path_.string() + ": store stayed locked for 5 minutes: " + e.what());
      int cap_ms = std::min(1000, 5 << std::min(attempt, 8));
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution<int>(1, cap_ms)(rng)));
    }
  }
}

void Store::add_experiment(const std::string& name, const json& spec, const std::string& source,
                           const std::vector<RunToAdd>& runs, bool replace_runs) {
  write([&] {
    double now = now_seconds();
    db_->prepare(
           "INSERT INTO experiments(name, spec, source, created, updated) VALUES (?1, ?2, ?3, ?4, ?4) "
           "ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, source = excluded.source, updated = "
           "excluded.updated")
        .bind(1, name)
        .bind(2, spec.dump())
        .bind(3, source)
        .bind(4, now)
        .run();
    // The experiment is what its spec says now: links to runs that left the spec are dropped (the runs stay).
    if (replace_runs) db_->prepare("DELETE FROM experiment_runs WHERE experiment = ?1").bind(1, name).run();
    std::int64_t first_position = 0;
    if (!replace_runs) {
      Statement& s =
          db_->prepare("SELECT coalesce(max(position) + 1, 0) FROM experiment_runs WHERE experiment = ?1");
      ResetGuard guard(s);
      s.bind(1, name);
      if (s.step()) first_position = s.get_int(0);
    }
    std::int64_t seq = 0;
    {
      Statement& s = db_->prepare("SELECT coalesce(max(seq), 0) FROM runs");
      ResetGuard guard(s);
      if (s.step()) seq = s.get_int(0);
    }
    Statement& insert_run = db_->prepare(
        "INSERT OR IGNORE INTO runs(run_key, config, status, created, seq) VALUES (?1, ?2, 'pending', ?3, "
        "?4)");
    Statement& insert_param =
        db_->prepare("INSERT OR IGNORE INTO params(run_key, path, value) VALUES (?1, ?2, ?3)");
    Statement& link = db_->prepare(
        "INSERT INTO experiment_runs(experiment, run_key, position) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(experiment, run_key) DO NOTHING");
    for (size_t i = 0; i < runs.size(); ++i) {
      const auto& run = runs[i];
      insert_run.bind(1, run.key).bind(2, run.config.dump()).bind(3, now).bind(4, ++seq).run();
      if (db_->changes() > 0) {
        std::vector<std::pair<std::string, std::string>> flat;
        flatten(run.config, "", flat);
        for (const auto& [path, value] : flat)
          insert_param.bind(1, run.key).bind(2, path).bind(3, value).run();
      }
      link.bind(1, name).bind(2, run.key).bind(3, first_position + static_cast<std::int64_t>(i)).run();
    }
  });
}

std::vector<std::string> Store::experiments() {
  std::vector<std::string> out;
  Statement& s = db_->prepare("SELECT name FROM experiments ORDER BY created, name");
  ResetGuard guard(s);
  while (s.step()) out.push_back(s.get_text(0));
  return out;
}

std::vector<std::string> Store::experiments_of(const std::string& key) {
  std::vector<std::string> out;
  Statement& s = db_->prepare(
      "SELECT experiment FROM experiment_runs JOIN experiments ON experiments.name = "
      "experiment_runs.experiment "
      "WHERE run_key = ?1 ORDER BY experiments.created");
  ResetGuard guard(s);
  s.bind(1, key);
  while (s.step()) out.push_back(s.get_text(0));
  return out;
}

std::string Store::keep_experiment_version(const std::string& name) {
  std::string kept;
  write([&] {
    for (int k = 1;; ++k) {
      kept = name + "~" + std::to_string(k);
      Statement& s = db_->prepare("SELECT 1 FROM experiments WHERE name = ?1");
      ResetGuard guard(s);
      s.bind(1, kept);
      if (!s.step()) break;
    }
    db_->prepare(
           "INSERT INTO experiments(name, spec, source, created, updated) "
           "SELECT ?2, spec, source, created, updated FROM experiments WHERE name = ?1")
        .bind(1, name)
        .bind(2, kept)
        .run();
    db_->prepare(
           "INSERT INTO experiment_runs(experiment, run_key, position) "
           "SELECT ?2, run_key, position FROM experiment_runs WHERE experiment = ?1")
        .bind(1, name)
        .bind(2, kept)
        .run();
  });
  return kept;
}

std::vector<std::string> Store::experiment_runs(const std::string& experiment) {
  std::vector<std::string> out;
  Statement& s = db_->prepare("SELECT run_key FROM experiment_runs WHERE experiment = ?1 ORDER BY position");
  ResetGuard guard(s);
  s.bind(1, experiment);
  while (s.step()) out.push_back(s.get_text(0));
  return out;
}

std::optional<RunRecord> Store::run(const std::string& key) {
  Statement& s = db_->prepare(std::string("SELECT ") + kRunColumns + " FROM runs WHERE run_key = ?1");
  ResetGuard guard(s);
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return read_run(s, path_);
}

std::vector<RunRecord> Store::runs(const std::optional<std::string>& experiment, bool environment) {
  std::vector<RunRecord> out;
  if (experiment) {
    Statement& s = db_->prepare(std::string("SELECT ") + kRunColumns +
                                " FROM runs JOIN experiment_runs USING (run_key) WHERE experiment = ?1 "
                                "ORDER BY position");
    ResetGuard guard(s);
    s.bind(1, *experiment);
    while (s.step()) out.push_back(read_run(s, path_, environment));
  } else {
    Statement& s = db_->prepare(std::string("SELECT ") + kRunColumns + " FROM runs ORDER BY seq");
    ResetGuard guard(s);
    while (s.step()) out.push_back(read_run(s, path_, environment));
  }
  return out;
}

void Store::scan_runs(const std::function<void(const RunRow& row)>& visit) {
  Statement& s = db_->prepare("SELECT run_key, config, status, host, git_commit, git_dirty FROM runs");
  ResetGuard guard(s);
  while (s.step()) {
    RunRow row{s.get_view(0), s.get_view(1), s.get_view(2), s.get_view(3), s.get_view(4), s.get_int(5) != 0};
    visit(row);
  }
}

std::map<std::string, std::vector<std::string>> Store::experiment_members() {
  std::map<std::string, std::vector<std::string>> out;
  Statement& s =
      db_->prepare("SELECT experiment, run_key FROM experiment_runs ORDER BY experiment, position");
  ResetGuard guard(s);
  std::vector<std::string>* members = nullptr;
  std::string_view current;
  while (s.step()) {
    const std::string_view experiment = s.get_view(0);
    if (!members || experiment != current) {
      auto it = out.try_emplace(std::string(experiment)).first;
      members = &it->second;
      current = it->first;
    }
    members->emplace_back(s.get_view(1));
  }
  return out;
}

ClaimResult Store::claim(const std::string& key, const Claimant& who, const json& environment,
                         const std::string& git_commit, bool git_dirty) {
  ClaimResult result = ClaimResult::Claimed;
  write([&] {
    auto current = run(key);
    if (!current) throw std::logic_error("claim: run " + key + " is not in the store");
    switch (current->status) {
      case RunStatus::Finished:
        result = ClaimResult::AlreadyFinished;
        return;
      case RunStatus::Failed:
        if (!who.retry_failed) {
          result = ClaimResult::Failed;
          return;
        }
        break;
      case RunStatus::Running:
        if (current->worker != who.worker && (!who.holder_alive || who.holder_alive(*current))) {
          result = ClaimResult::HeldByOther;
          return;
        }
        break;
      case RunStatus::Pending:
        break;
    }
    double now = now_seconds();
    db_->prepare(
           "UPDATE runs SET status = 'running', attempt = attempt + 1, worker = ?2, host = ?3, pid = ?4, "
           "heartbeat = ?5, started = coalesce(started, ?5), finished = NULL, error = NULL, git_commit = ?6, "
           "git_dirty = ?7, environment = ?8 WHERE run_key = ?1")
        .bind(1, key)
        .bind(2, who.worker)
        .bind(3, who.host)
        .bind(4, who.pid)
        .bind(5, now)
        .bind(6, git_commit)
        .bind(7, git_dirty ? 1 : 0)
        .bind(8, environment.dump())
        .run();
    result = ClaimResult::Claimed;
  });
  return result;
}

template <class Bind>
void Store::update_held(const std::string& key, const std::string& worker, std::string_view assignments,
                        const char* action, Bind&& bind_rest) {
  // Only the worker that holds a running run may change it: a worker whose run was reclaimed (it was presumed
  // dead) must not overwrite the new holder's progress.
  Statement& s = db_->prepare("UPDATE runs SET " + std::string(assignments) +
                              " WHERE run_key = ?1 AND worker = ?2 AND status = 'running'");
  s.bind(1, key).bind(2, worker);
  bind_rest(s);
  s.run();
  if (db_->changes() == 0)
    throw RunError(path_.string() + ": cannot " + action + " run " + key + ": worker " + worker +
                   " no longer holds it (it was reclaimed or reset)");
}

void Store::heartbeat(const std::string& key, const std::string& worker, std::optional<int> epoch) {
  write([&] {
    update_held(key, worker, "heartbeat = ?3, epoch = coalesce(?4, epoch)", "update the heartbeat of",
                [&](Statement& s) {
                  s.bind(3, now_seconds());
                  if (epoch)
                    s.bind(4, *epoch);
                  else
                    s.bind(4, nullptr);
                });
  });
}

void Store::record_metrics(const std::string& key, const std::string& worker,
                           const std::vector<Metric>& metrics) {
  write([&] {
    const double now = now_seconds();
    update_held(key, worker, "heartbeat = ?3", "record metrics of", [&](Statement& s) { s.bind(3, now); });
    insert_metrics(key, metrics, now);
  });
}

void Store::insert_metrics(const std::string& key, const std::vector<Metric>& metrics, double now) {
  // Keyed by (run, name, step): recording an epoch again after a resume replaces the identical row.
  Statement& insert = db_->prepare(
      "INSERT OR REPLACE INTO metrics(run_key, name, step, value, time) VALUES (?1, ?2, ?3, ?4, ?5)");
  for (const auto& m : metrics)
    insert.bind(1, key).bind(2, m.name).bind(3, m.step).bind(4, m.value).bind(5, now).run();
}

void Store::set_environment(const std::string& key, const std::string& worker, const json& environment) {
  write([&] {
    update_held(key, worker, "environment = ?3", "record the environment of",
                [&](Statement& s) { s.bind(3, environment.dump()); });
  });
}

void Store::record_checkpoint(const std::string& key, const std::string& worker, const std::string& path,
                              int epoch) {
  write([&] {
    update_held(key, worker, "checkpoint = ?3, epoch = ?4, heartbeat = ?5", "record the checkpoint of",
                [&](Statement& s) { s.bind(3, path).bind(4, epoch).bind(5, now_seconds()); });
  });
}

void Store::finish(const std::string& key, const std::string& worker,
                   const std::vector<Metric>& final_metrics) {
  write([&] {
    const double now = now_seconds();
    update_held(key, worker, "status = 'finished', finished = ?3, heartbeat = ?3, error = NULL", "finish",
                [&](Statement& s) { s.bind(3, now); });
    insert_metrics(key, final_metrics, now);
  });
}

void Store::fail(const std::string& key, const std::string& worker, const std::string& error) {
  write([&] {
    update_held(key, worker, "status = 'failed', finished = ?3, heartbeat = ?3, error = ?4", "mark as failed",
                [&](Statement& s) { s.bind(3, now_seconds()).bind(4, error); });
  });
}

void Store::release(const std::string& key, const std::string& worker, const std::string& note) {
  write([&] {
    update_held(key, worker, "status = 'pending', worker = NULL, error = ?3", "release",
                [&](Statement& s) { s.bind(3, note); });
  });
}

std::vector<MetricRecord> Store::metrics(const std::string& key) {
  std::vector<MetricRecord> out;
  Statement& s =
      db_->prepare("SELECT name, step, value, time FROM metrics WHERE run_key = ?1 ORDER BY name, step");
  ResetGuard guard(s);
  s.bind(1, key);
  while (s.step()) {
    MetricRecord m;
    m.name = s.get_text(0);
    m.step = s.get_int(1);
    m.value = metric_value(s, 2, path_, key, m.name);
    m.time = s.get_double(3);
    out.push_back(m);
  }
  return out;
}

std::map<std::string, std::string> Store::holders() {
  std::map<std::string, std::string> out;
  Statement& s = db_->prepare("SELECT run_key, worker FROM runs WHERE status = 'running'");
  ResetGuard guard(s);
  while (s.step()) out[s.get_text(0)] = s.get_text(1);
  return out;
}

std::map<std::string, double> Store::final_metrics(const std::string& key) {
  std::map<std::string, double> out;
  // SQLite returns the bare column of the row that holds max() (documented behaviour of min/max aggregates).
  Statement& s = db_->prepare("SELECT name, value, max(step) FROM metrics WHERE run_key = ?1 GROUP BY name");
  ResetGuard guard(s);
  s.bind(1, key);
  while (s.step()) {
    std::string name = s.get_text(0);
    out[name] = metric_value(s, 1, path_, key, name);
  }
  return out;
}

void Store::scan_metrics(const std::function<void(std::string_view key, std::string_view name,
                                                  std::int64_t step, double value)>& visit) {
  Statement& s = db_->prepare("SELECT run_key, name, step, value FROM metrics");
  ResetGuard guard(s);
  while (s.step()) {
    const std::string_view key = s.get_view(0), name = s.get_view(1);
    visit(key, name, s.get_int(2), metric_value(s, 3, path_, key, name));
  }
}

namespace {

// One merge, inside the store's write transaction, from the database attached as "src": which runs to copy,
// take over or compare, then the copies, then the experiments and their links.
class Merger {
 public:
  Merger(Database& db, Store::MergeReport& report) : db_(db), report_(report) {}

  void run() {
    report_ = Store::MergeReport{};
    copy_.clear();
    replace_.clear();
    classify();
    std::int64_t seq = last_seq();
    for (const auto& key : copy_) copy_run(key, ++seq);
    for (const auto& key : replace_) replace_run(key);
    unite_experiments();
  }

 private:
  // Every source run: skipped when damaged, copied when missing here, taken over when finished there only,
  // compared on its test/ metrics when finished in both.
  void classify() {
    Statement& s = db_.prepare(
        "SELECT s.run_key, s.status, d.status, s.config, s.environment FROM src.runs s "
        "LEFT JOIN main.runs d USING (run_key) ORDER BY s.seq");
    ResetGuard guard(s);
    while (s.step()) {
      const std::string key = s.get_text(0), theirs = s.get_text(1);
      // A row this store's readers could not read (a damaged or hand-made source) stays out of it.
      if (std::string problem = source_row_problem(s, 1, 3, 4); !problem.empty()) {
        report_.skipped.push_back(key + ": " + problem);
        continue;
      }
      if (s.is_null(2))
        copy_.push_back(key);
      else if (theirs != "finished")
        ++report_.kept;
      else if (s.get_text(2) != "finished")
        replace_.push_back(key);
      else
        compare(key);
    }
  }

  void compare(const std::string& key) {
    auto here = test_metrics("main", key), there = test_metrics("src", key);
    if (here == there) {
      ++report_.identical;
      return;
    }
    for (const auto& [name, value] : there) {
      auto it = here.find(name);
      if (it != here.end() && it->second == value) continue;
      report_.conflicts.push_back(key + ": " + name + " " +
                                  (it == here.end() ? std::string("missing") : shortest_decimal(it->second)) +
                                  " here vs " + shortest_decimal(value) + " there");
    }
    for (const auto& [name, value] : here)
      if (!there.contains(name))
        report_.conflicts.push_back(key + ": " + name + " " + shortest_decimal(value) +
                                    " here vs missing there");
  }

  std::map<std::string, double> test_metrics(std::string_view schema, const std::string& key) {
    std::map<std::string, double> out;
    Statement& s = db_.prepare(std::string("SELECT name, value, max(step) FROM ") + std::string(schema) +
                               ".metrics WHERE run_key = ?1 AND name LIKE 'test/%' GROUP BY name");
    ResetGuard guard(s);
    s.bind(1, key);
    while (s.step()) out[s.get_text(0)] = s.get_double(1);
    return out;
  }

  std::int64_t last_seq() {
    Statement& s = db_.prepare("SELECT coalesce(max(seq), 0) FROM main.runs");
    ResetGuard guard(s);
    return s.step() ? s.get_int(0) : 0;
  }

  void copy_run(const std::string& key, std::int64_t seq) {
    db_.prepare(
           "INSERT INTO main.runs(run_key, config, status, attempt, worker, host, pid, heartbeat, started, "
           "finished, epoch, error, checkpoint, git_commit, git_dirty, environment, created, seq) "
           "SELECT run_key, config, status, attempt, worker, host, pid, heartbeat, started, finished, epoch, "
           "error, checkpoint, git_commit, git_dirty, environment, created, ?2 FROM src.runs WHERE run_key = "
           "?1")
        .bind(1, key)
        .bind(2, seq)
        .run();
    copy_details(key);
    ++report_.copied;
  }

  void replace_run(const std::string& key) {
    db_.prepare("DELETE FROM main.params WHERE run_key = ?1").bind(1, key).run();
    db_.prepare("DELETE FROM main.metrics WHERE run_key = ?1").bind(1, key).run();
    db_.prepare(
           "UPDATE main.runs SET (status, attempt, worker, host, pid, heartbeat, started, finished, epoch, "
           "error, checkpoint, git_commit, git_dirty, environment) = (SELECT status, attempt, worker, host, "
           "pid, "
           "heartbeat, started, finished, epoch, error, checkpoint, git_commit, git_dirty, environment "
           "FROM src.runs s WHERE s.run_key = ?1) WHERE run_key = ?1")
        .bind(1, key)
        .run();
    copy_details(key);
    ++report_.replaced;
  }

  // A run's params and its metrics whose values are numbers; the others are listed as skipped.
  void copy_details(const std::string& key) {
    db_.prepare("INSERT INTO main.params SELECT * FROM src.params WHERE run_key = ?1").bind(1, key).run();
    db_.prepare(
           "INSERT INTO main.metrics SELECT * FROM src.metrics WHERE run_key = ?1 AND typeof(value) IN "
           "('integer', 'real')")
        .bind(1, key)
        .run();
    Statement& bad = db_.prepare(
        "SELECT name, step FROM src.metrics WHERE run_key = ?1 AND typeof(value) NOT IN ('integer', 'real')");
    ResetGuard guard(bad);
    bad.bind(1, key);
    while (bad.step())
      report_.skipped.push_back(key + ": metric " + bad.get_text(0) + " (step " +
                                std::to_string(bad.get_int(1)) + ") is not a number");
  }

  void unite_experiments() {
    db_.exec(
        "INSERT INTO main.experiments SELECT * FROM src.experiments WHERE true ON CONFLICT(name) DO NOTHING");
    db_.exec(
        "INSERT INTO main.experiment_runs(experiment, run_key, position) "
        "SELECT experiment, run_key, position FROM src.experiment_runs "
        "WHERE run_key IN (SELECT run_key FROM main.runs) AND experiment IN (SELECT name FROM "
        "main.experiments) "
        "ON CONFLICT(experiment, run_key) DO NOTHING");
  }

  Database& db_;
  Store::MergeReport& report_;
  std::vector<std::string> copy_, replace_;
};

}  // namespace

Store::MergeReport Store::merge_from(const std::filesystem::path& other) {
  {
    // Identifies the file (application id, schema version) without writing to it.
    Store source(other, Mode::ReadOnly);
    if (source.schema_version() != schema_version())
      throw InputError(other.string() + ": store schema version " + std::to_string(source.schema_version()) +
                       ", this store has " + std::to_string(schema_version()) +
                       "; open it with this r2q first (r2q status --db) to migrate it");
  }
  if (std::filesystem::exists(other) && std::filesystem::exists(path_) &&
      std::filesystem::equivalent(other, path_))
    throw InputError(other.string() + ": cannot merge a store into itself");

  db_->prepare("ATTACH DATABASE ?1 AS src").bind(1, other.string()).run();
  struct Detach {
    Database& db;
    ~Detach() {
      try {
        db.exec("DETACH DATABASE src");
      } catch (...) {
      }
    }
  } detach{*db_};
  MergeReport report;
  write([&] { Merger(*db_, report).run(); });
  return report;
}

}  // namespace r2q::store
