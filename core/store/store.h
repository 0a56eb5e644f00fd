// The experiment store (DESIGN §4): experiments, runs with their lifecycle, flattened params and metrics, in
// one SQLite file. Writes are BEGIN IMMEDIATE transactions retried with jittered backoff; inserts are
// idempotent and keyed by run key, so a sweep can be restarted at any moment without losing or duplicating
// work.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace r2q::store {

class Database;

inline constexpr int kSchemaVersion = 1;
inline constexpr std::int64_t kApplicationId = 0x52325131;  // "R2Q1"

enum class RunStatus { Pending, Running, Finished, Failed };
const char* to_string(RunStatus status);
RunStatus parse_status(const std::string& text);
bool valid_status(std::string_view text);
// What is wrong with a stored run config for r2q's readers, as "has no field model.name" ("" when nothing):
// the fields every config r2q writes has and its readers use directly. Reading a run with such a config, or
// with an environment that is not a JSON object, is an InputError naming the run and the column; a merge
// skips such a row.
std::string config_problem(const nlohmann::json& config);

struct RunRecord {
  std::string key;
  nlohmann::json config;
  RunStatus status = RunStatus::Pending;
  int attempt = 0;
  std::optional<std::string> worker, host;
  std::int64_t pid = 0;
  std::optional<double> heartbeat, started, finished;  // unix seconds
  int epoch = 0;                                       // last epoch with a checkpoint
  std::optional<std::string> error, checkpoint, git_commit;
  bool git_dirty = false;
  nlohmann::json environment;
  double created = 0;
};

struct Metric {
  std::string name;
  std::int64_t step = 0;  // epoch for curves; the final step for end-of-run values
  double value = 0;
};

struct MetricRecord : Metric {
  double time = 0;
};

// Who is asking for a run, and how to judge whether the current holder of a running run is still alive.
struct Claimant {
  std::string worker;  // unique per process, e.g. "host:pid"
  std::string host;
  std::int64_t pid = 0;
  bool retry_failed = false;
  std::function<bool(const RunRecord&)> holder_alive;
};

enum class ClaimResult { Claimed, AlreadyFinished, Failed, HeldByOther };

struct RunToAdd {
  std::string key;
  nlohmann::json config;
};

class Store {
 public:
  enum class Mode { ReadOnly, ReadWrite };
  // ReadWrite creates the file (and its directory) and migrates it to the current schema. ReadOnly requires
  // an existing store. A store written by a newer r2q, or a file that is not an r2q store, is an InputError.
  Store(const std::filesystem::path& path, Mode mode);
  ~Store();
  Store(Store&&) noexcept;

  const std::filesystem::path& path() const { return path_; }
  int schema_version();

  // Records the experiment and adds its runs as pending (runs already known keep their state). With
  // `replace_runs` the experiment becomes exactly these runs (links to runs that left its spec are dropped;
  // the runs themselves stay); otherwise the runs are appended to it (`r2q run`).
  void add_experiment(const std::string& name, const nlohmann::json& spec, const std::string& source,
                      const std::vector<RunToAdd>& runs, bool replace_runs = true);
  std::vector<std::string> experiments();
  // Keeps the experiment as it is now (its spec and its runs) under a new name, "NAME~1" or the next free
  // "NAME~k", and returns that name: the earlier version of an experiment whose spec is about to change
  // stays reachable (`r2q sweep --replace`).
  std::string keep_experiment_version(const std::string& name);
  // Experiments a run belongs to.
  std::vector<std::string> experiments_of(const std::string& key);
  std::vector<std::string> experiment_runs(const std::string& experiment);

  std::optional<RunRecord> run(const std::string& key);
  // All runs, or those of one experiment, in the order they were added.
  // `environment`: false leaves RunRecord::environment null (reports over many runs skip parsing it).
  std::vector<RunRecord> runs(const std::optional<std::string>& experiment = std::nullopt,
                              bool environment = true);

  // Whole-store passes for reports over many runs: each reads one table once, in its storage order, with no
  // per-run lookups.
  // Every run's identity, config text (as stored: nlohmann::json::dump) and outcome, in storage order.
  struct RunRow {
    std::string_view key, config, status, host, git_commit;  // host, git_commit: empty when unknown
    bool git_dirty = false;
  };
  void scan_runs(const std::function<void(const RunRow& row)>& visit);
  // Every experiment's run keys in the order they were added to it.
  std::map<std::string, std::vector<std::string>> experiment_members();
  // Every metric row, ordered by run key, then name, then step. The views are valid during the call only.
  void scan_metrics(const std::function<void(std::string_view key, std::string_view name, std::int64_t step,
                                             double value)>& visit);

  // pending (or failed with retry_failed, or running with a dead holder) -> running, atomically.
  ClaimResult claim(const std::string& key, const Claimant& who, const nlohmann::json& environment,
                    const std::string& git_commit, bool git_dirty);
  // The following require that `worker` still holds the run; otherwise they throw RunError.
  void heartbeat(const std::string& key, const std::string& worker, std::optional<int> epoch = std::nullopt);
  void record_metrics(const std::string& key, const std::string& worker, const std::vector<Metric>& metrics);
  void set_environment(const std::string& key, const std::string& worker, const nlohmann::json& environment);
  void record_checkpoint(const std::string& key, const std::string& worker, const std::string& path,
                         int epoch);
  void finish(const std::string& key, const std::string& worker, const std::vector<Metric>& final_metrics);
  void fail(const std::string& key, const std::string& worker, const std::string& error);
  // running -> pending, keeping the checkpoint (interrupted by the user).
  void release(const std::string& key, const std::string& worker, const std::string& note);

  std::vector<MetricRecord> metrics(const std::string& key);

  // Merges another store (e.g. a shard's) into this one, keyed by run key, in one transaction: runs this
  // store lacks are copied with their params and metrics; a run finished there and unfinished here is taken
  // from there; a run finished in both is compared on its test/ metrics, and a difference is reported as a
  // conflict (this store's result is kept). Experiments and their run links are united. Merging the same
  // store twice changes nothing the second time. A file that is not an r2q store of this schema is an
  // InputError. Rows this store could not read back (see config_problem; a metric value that is not a
  // number) are left out and listed in `skipped`.
  struct MergeReport {
    int copied = 0, replaced = 0, identical = 0, kept = 0;  // kept: unfinished there, present here
    std::vector<std::string> conflicts;                     // "key: metric here vs there"
    std::vector<std::string> skipped;                       // "key: why": damaged rows left out
  };
  MergeReport merge_from(const std::filesystem::path& other);
  // The last value (highest step) of every metric of a run.
  std::map<std::string, double> final_metrics(const std::string& key);
  // The running runs' workers: run key -> worker ("host:pid"), from the status index (cheap to poll).
  std::map<std::string, std::string> holders();

 private:
  template <class F>
  void write(F&& body);
  void migrate();
  template <class Bind>
  void update_held(const std::string& key, const std::string& worker, std::string_view assignments,
                   const char* action, Bind&& bind_rest);
  void insert_metrics(const std::string& key, const std::vector<Metric>& metrics, double now);

  std::filesystem::path path_;
  std::unique_ptr<Database> db_;
};

}  // namespace r2q::store
