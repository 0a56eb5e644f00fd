// The writers by format name.
#include "reports/writers.h"

#include <stdexcept>

namespace r2q::reports {

const std::vector<std::string>& report_formats() {
  static const std::vector<std::string> formats = {"markdown", "csv", "json", "latex", "html"};
  return formats;
}

void write_report(std::ostream& out, const Report& report, const std::string& format) {
  if (format == "markdown") return write_markdown(out, report);
  if (format == "csv") return write_csv(out, report);
  if (format == "json") return write_json(out, report);
  if (format == "latex") return write_latex(out, report);
  if (format == "html") return write_html(out, report);
  throw std::invalid_argument("unknown report format: " + format);
}

}  // namespace r2q::reports
