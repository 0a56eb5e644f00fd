// r2q merge OUT IN...: unite stores (the shards of a job array) into one, keyed by run key.
#include <iostream>

#include "cli/common.h"
#include "core/store/store.h"

namespace r2q::cli {

int cmd_merge(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("out", po::value<std::string>()->required(),
                        "the store to merge into (created if absent)")(
      "in", po::value<std::vector<std::string>>()->required()->multitoken(), "stores to merge from");
  po::positional_options_description positional;
  positional.add("out", 1).add("in", -1);
  po::variables_map vm;
  if (!parse("merge", "OUT IN... [options]", args, options, positional, vm)) return kOk;

  store::Store out(vm["out"].as<std::string>(), store::Store::Mode::ReadWrite);
  int conflicts = 0, skipped = 0;
  for (const auto& in : vm["in"].as<std::vector<std::string>>()) {
    auto r = out.merge_from(in);
    std::cout << in << ": " << r.copied << " runs copied, " << r.replaced << " taken over (finished there), "
              << r.identical << " identical, " << r.kept << " unfinished there (kept here)";
    if (!r.conflicts.empty()) std::cout << ", " << r.conflicts.size() << " conflicting";
    if (!r.skipped.empty()) std::cout << ", " << r.skipped.size() << " damaged row(s) skipped";
    std::cout << "\n";
    for (const auto& c : r.conflicts) std::cout << "  conflict: " << c << "\n";
    for (const auto& c : r.skipped) std::cout << "  skipped: " << c << "\n";
    conflicts += static_cast<int>(r.conflicts.size());
    skipped += static_cast<int>(r.skipped.size());
  }
  if (skipped)
    std::cerr << "r2q merge: " << skipped
              << " damaged row(s) of the input store(s) were left out (listed above); "
              << "everything else was merged\n";
  if (conflicts) {
    std::cerr << "r2q merge: " << conflicts
              << " conflicting result(s): the same run finished with different test metrics; "
                 "the results already in "
              << vm["out"].as<std::string>() << " were kept\n";
    return kFailed;
  }
  return skipped ? kFailed : kOk;
}

}  // namespace r2q::cli
