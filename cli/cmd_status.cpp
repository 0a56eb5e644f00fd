// r2q status: per experiment, how many runs are finished / running / pending / failed; running runs with
// their worker, epoch and heartbeat age; failed runs with their error.
#include <chrono>
#include <iomanip>
#include <iostream>

#include "cli/common.h"
#include "core/store/liveness.h"
#include "core/store/store.h"
#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q::cli {

int cmd_status(const std::vector<std::string>& args) {
  po::options_description options("options");
  add_db_option(options);
  options.add_options()("experiment,e", po::value<std::string>(), "only this experiment")(
      "stale-after", po::value<double>()->default_value(120.0)->value_name("SECONDS"),
      "a running run with an older heartbeat is reported as stale");
  po::variables_map vm;
  if (!parse("status", "[options]", args, options, {}, vm)) return kOk;
  const double stale_after = seconds_option(vm, "stale-after");
  store::Store store(db_path(vm), store::Store::Mode::ReadOnly);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

  std::vector<std::string> experiments;
  if (vm.count("experiment")) {
    experiments = {vm["experiment"].as<std::string>()};
    auto known = store.experiments();
    if (std::find(known.begin(), known.end(), experiments[0]) == known.end())
      throw InputError("--experiment: no experiment " + quoted_value(experiments[0]) + " in " +
                       store.path().string());
  } else {
    experiments = store.experiments();
  }
  if (experiments.empty()) {
    std::cout << "no experiments in " << store.path().string() << "\n";
    return kOk;
  }
  std::cout << std::left << std::setw(32) << "experiment" << std::right << std::setw(6) << "runs"
            << std::setw(10) << "finished" << std::setw(9) << "running" << std::setw(9) << "pending"
            << std::setw(8) << "failed"
            << "\n";
  std::vector<std::pair<std::string, store::RunRecord>> running, failed;
  for (const auto& name : experiments) {
    int counts[4] = {0, 0, 0, 0};
    for (auto& r : store.runs(name)) {
      ++counts[static_cast<int>(r.status)];
      if (r.status == store::RunStatus::Running) running.emplace_back(name, r);
      if (r.status == store::RunStatus::Failed) failed.emplace_back(name, r);
    }
    int total = counts[0] + counts[1] + counts[2] + counts[3];
    std::cout << std::left << std::setw(32) << name << std::right << std::setw(6) << total << std::setw(10)
              << counts[static_cast<int>(store::RunStatus::Finished)] << std::setw(9)
              << counts[static_cast<int>(store::RunStatus::Running)] << std::setw(9)
              << counts[static_cast<int>(store::RunStatus::Pending)] << std::setw(8)
              << counts[static_cast<int>(store::RunStatus::Failed)] << "\n";
  }
  if (!running.empty()) {
    std::cout << "\nrunning:\n";
    for (const auto& [exp, r] : running) {
      double age = r.heartbeat ? now - *r.heartbeat : -1;
      bool alive = store::holder_alive(r, stale_after);
      std::cout << "  " << r.key.substr(0, 12) << "  " << exp << "  worker " << r.worker.value_or("?")
                << "  epoch " << r.epoch << "/" << r.config["train"]["epochs"].get<int>() << "  heartbeat "
                << format_duration(age) << " ago"
                << (alive ? "" : "  (stale: the next sweep reclaims it and resumes from its checkpoint)")
                << "\n";
    }
  }
  if (!failed.empty()) {
    std::cout << "\nfailed (r2q sweep SPEC --retry-failed runs them again):\n";
    for (const auto& [exp, r] : failed)
      std::cout << "  " << r.key.substr(0, 12) << "  " << exp << "  " << r.error.value_or("?") << "\n";
  }
  return kOk;
}

}  // namespace r2q::cli
