// The HTML form of an audit report (dvi audit --format html).
#pragma once

#include <string>

#include "dvi/audit.hpp"

namespace dvi::cli {

// One self-contained HTML document: no script and nothing fetched from elsewhere.
std::string render_html(const AuditReport& report, bool pass);

}  // namespace dvi::cli
