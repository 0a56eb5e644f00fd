// Markdown (GitHub-flavoured) comparison tables: one row per configuration, mean ± std over seeds, in
// percent.
#pragma once

#include <ostream>
#include <string>

#include "reports/aggregate.h"

namespace r2q::reports {

struct ReportContext {
  std::string store_path;
};

void write_markdown(std::ostream& out, const Table& table, const ReportContext& context);

// "91.23 ± 0.45" (percent, two decimals), "91.23" for one sample, "–" for none.
std::string format_percent(const Stat& stat);

}  // namespace r2q::reports
