// YAML input (manifests) read into JSON values, keeping the line of every value so that
// errors can name "file:line" and the field.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "dvi/canonical.hpp"
#include "dvi/result.hpp"

namespace dvi {

struct YamlDocument {
    Json value;
    std::map<std::string, int> lines;  // JSON Pointer -> 1-based line

    // The line of `pointer`, or of its nearest ancestor that has one; 0 if none.
    int line_of(std::string pointer) const;
};

// Parses one YAML document. Plain scalars follow the YAML 1.2 core schema (null, bool,
// integer, float); quoted scalars are strings. Refused with the line: syntax errors,
// duplicate keys, non-string keys, unknown tags, more than one document, and documents
// whose alias expansion exceeds a node budget.
Result<YamlDocument> yaml_parse(std::string_view text, const std::string& source_name);

}  // namespace dvi
