// Fuzz target: a manifest as `dvi seal` reads it. The YAML parser (yaml-cpp plus our
// conversion to JSON with lines), then every manifest schema's validator over the value,
// and the line lookup that error messages use for each violation.
#include <string>
#include <vector>

#include "dvi/schema.hpp"
#include "dvi/yaml.hpp"
#include "fuzz.hpp"

namespace {

// The compiled-in schemas a manifest can be checked against ("*-manifest").
std::vector<const dvi::Json*> manifest_schemas() {
    std::vector<const dvi::Json*> out;
    for (auto& name : dvi::schema_names()) {
        if (name.size() < 9 || name.compare(name.size() - 9, 9, "-manifest") != 0) continue;
        auto s = dvi::schema_by_name(name);
        DVI_FUZZ_CHECK(s.ok(), "a listed schema is found by name");
        out.push_back(*s);
    }
    DVI_FUZZ_CHECK(!out.empty(), "there are manifest schemas");
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::vector<const dvi::Json*> schemas = manifest_schemas();
    auto doc = dvi::yaml_parse(dvi_fuzz::as_text(data, size), "fuzz.yaml");
    if (!doc) {
        DVI_FUZZ_CHECK(doc.error().message.rfind("fuzz.yaml", 0) == 0, "a YAML error names the file");
        return 0;
    }
    for (const dvi::Json* schema : schemas) {
        auto violations = dvi::schema_validate(*schema, doc->value);
        if (!violations) {  // only nesting deeper than the validator follows; any other error is a bad schema
            DVI_FUZZ_CHECK(violations.error().message == "schema recursion too deep", "the schema itself is valid");
            continue;
        }
        for (auto& v : *violations) {
            DVI_FUZZ_CHECK(v.pointer.empty() || v.pointer[0] == '/', "a violation names a JSON Pointer");
            (void)doc->line_of(v.pointer);
        }
    }
    return 0;
}
