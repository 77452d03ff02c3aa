// The files of schemas/, compiled in by CMake (cmake/EmbedSchemas.cmake).
#pragma once

#include <string_view>
#include <vector>

namespace dvi {

struct EmbeddedSchema {
    std::string_view name;  // file name without ".schema.json"
    std::string_view text;
};

const std::vector<EmbeddedSchema>& embedded_schemas();

}  // namespace dvi
