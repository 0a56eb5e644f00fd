// The table of subcommands; each lives in its own cmd_<name>.cpp. Compiled into both executables: in `r2q`
// (without R2Q_ENGINE) the commands that need LibTorch have no function and are handed to r2q-engine.
#include "cli/common.h"

#ifdef R2Q_ENGINE
#define R2Q_ENGINE_COMMAND(f) f
#else
#define R2Q_ENGINE_COMMAND(f) nullptr
#endif

namespace r2q::cli {

int cmd_sweep(const std::vector<std::string>& args);
int cmd_run(const std::vector<std::string>& args);
int cmd_status(const std::vector<std::string>& args);
int cmd_list(const std::vector<std::string>& args);
int cmd_report(const std::vector<std::string>& args);
int cmd_version(const std::vector<std::string>& args);
int cmd_merge(const std::vector<std::string>& args);
int cmd_verify(const std::vector<std::string>& args);
int cmd_export(const std::vector<std::string>& args);
int cmd_eval(const std::vector<std::string>& args);
int cmd_backends(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"sweep", "run (or resume) every run of an experiment spec", R2Q_ENGINE_COMMAND(cmd_sweep)},
      {"run", "run one config: a spec's base with --set overrides", R2Q_ENGINE_COMMAND(cmd_run)},
      {"status", "per experiment: finished / running / pending / failed runs", cmd_status},
      {"list", "runs with their config and final metrics (table or json)", cmd_list},
      {"report", "comparison tables over seeds (markdown, csv, json, latex, html)", cmd_report},
      {"verify", "compare a store's results with golden ones; exit 1 on drift or missing runs", cmd_verify},
      {"export", "write a finished run's model as a deployment file (.r2q)", R2Q_ENGINE_COMMAND(cmd_export)},
      {"eval",
       "accuracy of a model file on a backend over a test set; agreement with a run's fake-quant model",
       R2Q_ENGINE_COMMAND(cmd_eval)},
      {"backends", "deployment backends: available here or why not, device, engines", cmd_backends},
      {"bench", "deployment latency per engine and layer: LibTorch eager, oneDNN fp32 / int8, shift-add",
       R2Q_ENGINE_COMMAND(cmd_bench)},
      {"merge", "unite stores (e.g. the shards of a job array) into one, keyed by run key", cmd_merge},
      {"version", "versions of r2q and its libraries, CPU features", R2Q_ENGINE_COMMAND(cmd_version)},
  };
  return table;
}

}  // namespace r2q::cli
