// JSON Schema validation (the subset of draft 2020-12 our schemas use) against the
// schemas in schemas/, which are compiled into the library: the files are the single
// source of truth for what a manifest or record may hold.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dvi/canonical.hpp"
#include "dvi/result.hpp"

namespace dvi {

// One reason a document does not satisfy its schema.
struct SchemaViolation {
    std::string pointer;  // JSON Pointer of the offending value ("/recipes/1/gcode")
    std::string field;    // the same as people write it ("recipes[1].gcode")
    std::string message;  // "is missing", "unknown field", "must be one of …"
};

// The schema compiled in under `name` (e.g. "dossier-manifest"); not_found if none.
Result<const Json*> schema_by_name(std::string_view name);
// Names of every compiled-in schema, sorted.
std::vector<std::string> schema_names();

// Validates `doc`; an empty vector means valid. Keywords outside the supported subset
// make the schema itself invalid (Errc::internal), so a schema cannot silently lose a rule.
Result<std::vector<SchemaViolation>> schema_validate(const Json& schema, const Json& doc);

// "recipes[1].gcode" from "/recipes/1/gcode"; "(document)" for "".
std::string pointer_to_field(std::string_view pointer);
// Appends "/<token>" to a JSON Pointer, '~' and '/' escaped (RFC 6901).
void append_pointer_token(std::string& pointer, const std::string& token);

}  // namespace dvi
