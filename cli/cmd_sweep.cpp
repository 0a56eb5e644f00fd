// r2q sweep SPEC: expand the spec, skip finished runs, run (or resume) the rest.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "cli/common.h"
#include "cli/progress.h"
#include "core/spec/spec.h"
#include "core/store/store.h"
#include "core/util/error.h"
#include "core/util/text.h"
#include "experiments/execute.h"
#include "experiments/shard.h"
#include "experiments/sweep.h"
#include "experiments/workers.h"

namespace r2q::cli {
namespace {

void print_warnings(const spec::Experiment& exp) {
  for (const auto& e : exp.unused_excludes)
    std::cerr << "r2q: warning: " << exp.source << ": exclude entry " << e << " matches no run\n";
  if (exp.duplicates)
    std::cerr << "r2q: note: " << exp.duplicates
              << " grid point(s) resolve to a run already listed; each runs once\n";
}

int dry_run(const spec::Experiment& exp, const std::filesystem::path& db) {
  for (size_t i = 0; i < exp.runs.size(); ++i)
    sweep::check_runnable(exp.runs[i], exp.source + ": run " + std::to_string(i + 1));
  std::optional<store::Store> store;
  if (std::filesystem::exists(db)) store.emplace(db, store::Store::Mode::ReadOnly);
  std::map<std::string, int> counts;
  std::cout << exp.name << ": " << exp.runs.size() << " runs (store " << db.string() << ")\n";
  std::cout << std::left << std::setw(5) << "#" << std::setw(14) << "run key" << std::setw(10) << "status"
            << "config\n";
  for (size_t i = 0; i < exp.runs.size(); ++i) {
    const auto& run = exp.runs[i];
    std::string status = "new";
    if (store)
      if (auto record = store->run(run.key)) {
        status = store::to_string(record->status);
        if (record->status != store::RunStatus::Finished && record->epoch > 0)
          status += " @" + std::to_string(record->epoch);
      }
    ++counts[status.substr(0, status.find(' '))];
    std::cout << std::left << std::setw(5) << (i + 1) << std::setw(14) << run.key.substr(0, 12)
              << std::setw(10) << status << (run.label.empty() ? "(base)" : run.label)
              << (run.teacher_key.empty() ? "" : "  [teacher " + run.teacher_key.substr(0, 12) + "]") << "\n";
  }
  std::cout << "\n";
  for (const auto& [status, n] : counts) std::cout << status << ": " << n << "  ";
  std::cout << "\n";
  if (const int leaving = store ? sweep::finished_runs_leaving(*store, exp) : 0; leaving > 0)
    std::cout << "the stored experiment " << quoted_value(exp.name) << " has " << leaving
              << " finished run(s) this spec leaves out: the sweep needs --replace (or another name)\n";
  // Which devices the runs train on (scripts/slurm/submit asks for GPUs when one is "cuda").
  std::map<std::string, int> devices;
  for (const auto& run : exp.runs) ++devices[run.config.value("device", std::string("cpu"))];
  std::cout << "devices:";
  for (const auto& [device, n] : devices) std::cout << " " << device << " " << n;
  std::cout << "\n";
  return kOk;
}

// The sweep's counts from the store (every worker's runs).
void update_meter(SweepMeter& meter, store::Store& store, const spec::Experiment& exp,
                  const std::set<std::string>& keys) {
  int counts[4] = {0, 0, 0, 0};
  for (const auto& run : store.runs(exp.name, /*environment=*/false))
    if (keys.count(run.key)) ++counts[static_cast<int>(run.status)];
  meter.update(counts[static_cast<int>(store::RunStatus::Finished)],
               counts[static_cast<int>(store::RunStatus::Failed)],
               counts[static_cast<int>(store::RunStatus::Running)]);
}

// -j N: N copies of this command as worker processes (fresh processes: LibTorch's thread pools do not survive
// fork), each claiming runs from the shared store. Returns the worst exit code of the workers.
int run_workers(const spec::Experiment& exp, const std::filesystem::path& db,
                const std::optional<sweep::Shard>& shard, const po::variables_map& vm, int jobs,
                store::Store& store) {
  const int total_threads = vm["threads"].as<int>() > 0
                                ? vm["threads"].as<int>()
                                : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = std::max(1, total_threads / jobs);
  std::cerr << "r2q sweep: " << exp.name << ", " << exp.runs.size() << " runs, " << jobs << " workers x "
            << threads << " thread(s), store " << store.path().string() << "\n";
  const std::set<std::string> keys = [&] {
    std::set<std::string> k;
    for (const auto& run : exp.runs) k.insert(run.key);
    return k;
  }();
  // The baseline: runs finished before this sweep took no time in it (the experiment may not be registered
  // yet, so look the runs up by key).
  SweepMeter meter(static_cast<int>(exp.runs.size()));
  {
    int finished = 0, failed = 0;
    for (const auto& run : exp.runs)
      if (auto record = store.run(run.key)) {
        finished += record->status == store::RunStatus::Finished;
        failed += record->status == store::RunStatus::Failed;
      }
    meter.update(finished, failed, 0);
  }
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<std::vector<std::string>> argvs;
  for (int w = 0; w < jobs; ++w) {
    std::vector<std::string> args = {self,
                                     "sweep",
                                     vm["spec"].as<std::string>(),
                                     "--db",
                                     db.string(),
                                     "--threads",
                                     std::to_string(threads),
                                     "--stale-after",
                                     shortest_decimal(vm["stale-after"].as<double>()),
                                     "--worker-index",
                                     std::to_string(w)};
    if (shard) {
      args.push_back("--shard");
      args.push_back(std::to_string(shard->index) + "/" + std::to_string(shard->count));
    }
    if (vm["retry-failed"].as<bool>()) args.push_back("--retry-failed");
    if (vm["yes"].as<bool>()) args.push_back("--yes");
    argvs.push_back(std::move(args));
  }
  sweep::WorkerPool pool(argvs);
  // Each worker stops after its current batch when this process is asked to stop (experiments/workers.h).
  // Meanwhile the sweep-level line comes from the store, which sees every worker's runs.
  const std::atomic<bool>* stop = install_stop_handler();
  int worst = kOk;
  auto last_meter = std::chrono::steady_clock::now();
  while (pool.running()) {
    for (const sweep::WorkerExit& e : pool.poll(store, stop->load())) {
      if (e.signal == 0) {
        worst = e.exit_code == kInterrupted || worst == kInterrupted ? kInterrupted
                                                                     : std::max(worst, e.exit_code);
        continue;
      }
      worst = worst == kInterrupted ? kInterrupted : std::max(worst, kFailed);
      std::cerr << "r2q sweep: worker " << e.index + 1 << " (pid " << e.pid << ") was killed by "
                << sweep::signal_name(e.signal) << (e.signal == SIGKILL ? " (out of memory? see dmesg)" : "");
      if (!e.runs.empty())
        std::cerr << " while running run " << e.runs
                  << (e.taken_over ? "; another worker has resumed it from its last checkpoint"
                                   : "; it resumes from its last checkpoint on the next sweep");
      std::cerr << "\n";
    }
    if (std::chrono::steady_clock::now() - last_meter >= std::chrono::seconds(2) || !pool.running()) {
      last_meter = std::chrono::steady_clock::now();
      update_meter(meter, store, exp, keys);
      if (meter.changed()) std::cerr << "r2q " << meter.text() << "\n";
    }
    if (pool.running()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (pool.stop_forwarded()) worst = kInterrupted;
  std::map<std::string, int> counts;
  for (const auto& run : exp.runs)
    if (auto record = store.run(run.key)) ++counts[store::to_string(record->status)];
  std::cerr << exp.name << ": " << exp.runs.size() << " runs:";
  for (const auto& [status, n] : counts) std::cerr << " " << n << " " << status;
  std::cerr << "\nreport: r2q report --db " << store.path().string() << " --experiment " << exp.name << "\n";
  return worst;
}

}  // namespace

int cmd_sweep(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_db_option(options);
  options.add_options()("spec", po::value<std::string>()->required(), "experiment spec (JSON)")(
      "dry-run,n", po::bool_switch(), "list the runs with their keys and status; run nothing")(
      "retry-failed", po::bool_switch(), "run failed runs again")(
      "replace", po::bool_switch(),
      "the spec changed and leaves out finished runs of the experiment of this name: point the name at the "
      "new spec, keeping the earlier version as NAME~k")(
      "threads,t", po::value<int>()->default_value(0),
      "CPU threads per run (0: the spec's value, else all cores)")(
      "yes,y", po::bool_switch(), "accept a spec that expands to more than 10000 runs")(
      "stale-after", po::value<double>()->default_value(120.0)->value_name("SECONDS"),
      "reclaim a running run whose heartbeat is older than this")(
      "jobs,j", po::value<int>()->default_value(1)->value_name("N"),
      "worker processes on this machine; --threads (default: all cores) is split among them")(
      "shard", po::value<std::string>()->value_name("I/N"),
      "run only shard I (0-based) of N, into its own store file <db>.shardI-of-N; default: from "
      "SLURM_ARRAY_TASK_ID/_COUNT or JOB_COMPLETION_INDEX + R2Q_NUM_SHARDS when set")(
      "worker-index", po::value<int>()->default_value(-1)->value_name("I"),
      "(set by -j for its workers) prefix output with the worker index");
  po::positional_options_description positional;
  positional.add("spec", 1);
  po::variables_map vm;
  if (!parse("sweep", "SPEC [options]", args, options, positional, vm)) return kOk;
  const int threads = int_option(vm, "threads", 0, kMaxThreads);
  const int jobs = int_option(vm, "jobs", 1, 256);
  const double stale_after = seconds_option(vm, "stale-after");

  spec::ExpandOptions expand;
  if (vm["yes"].as<bool>()) expand.max_runs = std::numeric_limits<std::size_t>::max();
  spec::Experiment exp = spec::load_experiment(vm["spec"].as<std::string>(), expand);
  print_warnings(exp);
  const auto base_db = db_path(vm);
  auto db = base_db;
  const std::optional<sweep::Shard> shard =
      vm.count("shard") ? sweep::parse_shard(vm["shard"].as<std::string>()) : sweep::shard_from_environment();
  if (shard) {
    const auto all = exp.runs.size();
    exp.runs = sweep::shard_runs(exp.runs, *shard);
    db = sweep::shard_store_path(base_db, *shard);
    std::cerr << "r2q sweep: shard " << shard->index << " of " << shard->count << ": " << exp.runs.size()
              << " of " << all << " runs, store " << db.string() << "\n";
  }
  if (vm["dry-run"].as<bool>()) return dry_run(exp, db);

  sweep::SweepOptions sweep_options;
  sweep_options.threads = threads;
  sweep_options.retry_failed = vm["retry-failed"].as<bool>();
  sweep_options.stale_after_seconds = stale_after;
  sweep_options.replace_changed_spec = vm["replace"].as<bool>();
  store::Store store(db, store::Store::Mode::ReadWrite);  // created and migrated once, before any worker
  // Registered once here, so a changed spec is refused or its earlier version kept before any worker starts.
  if (const auto kept = sweep::register_experiment(store, exp, sweep_options))
    std::cerr << "r2q sweep: the spec of " << quoted_value(exp.name)
              << " changed; its earlier version and its "
              << "runs stay in the store as " << quoted_value(*kept) << " (r2q report --experiment " << *kept
              << ")\n";
  if (jobs > 1) return run_workers(exp, base_db, shard, vm, jobs, store);
  sweep_options.stop = install_stop_handler();
  std::cerr << "r2q sweep: " << exp.name << ", " << exp.runs.size() << " runs, store " << db.string() << "\n";
  const int worker_index = vm["worker-index"].as<int>();
  // A worker of -j stops (its run resumable) when its parent dies, whatever killed the parent.
  if (worker_index >= 0) sweep::stop_with_parent();
  ConsoleProgress progress(worker_index >= 0 ? "[w" + std::to_string(worker_index + 1) + "] " : "");
  auto summary = sweep::run_registered_sweep(store, exp, sweep_options, progress);

  std::cerr << exp.name << ": " << summary.total << " runs: " << summary.already_finished
            << " already finished, " << summary.succeeded << " finished now, " << summary.failed << " failed";
  if (summary.skipped_failed)
    std::cerr << ", " << summary.skipped_failed << " failed earlier (--retry-failed)";
  if (summary.held_elsewhere) std::cerr << ", " << summary.held_elsewhere << " running elsewhere";
  if (summary.waiting) std::cerr << ", " << summary.waiting << " waiting for a teacher running elsewhere";
  std::cerr << "\n";
  if (summary.interrupted) return kInterrupted;
  if (worker_index < 0)
    std::cerr << "report: r2q report --db " << db.string() << " --experiment " << exp.name << "\n";
  return summary.failed || summary.skipped_failed ? kFailed : kOk;
}

}  // namespace r2q::cli
