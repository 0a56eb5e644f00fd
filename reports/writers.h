// Report writers, one per format. Each renders the whole report (every table, then the footer) to a stream.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "reports/report.h"

namespace r2q::reports {

void write_markdown(std::ostream& out, const Report& report);  // GitHub tables
void write_csv(std::ostream& out, const Report& report);       // one header + one row per group, raw values
void write_json(std::ostream& out, const Report& report);      // schema "r2q-report/1" (docs/REPORTS.md)
void write_latex(std::ostream& out, const Report& report);     // booktabs tables, ready to \input
void write_html(std::ostream& out, const Report& report);      // one self-contained page, inline SVG plots

// The formats above by name; `format` must be one of report_formats().
const std::vector<std::string>& report_formats();
void write_report(std::ostream& out, const Report& report, const std::string& format);

}  // namespace r2q::reports
