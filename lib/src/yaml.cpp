#include "dvi/yaml.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <limits>
#include <regex>

#include "dvi/util/encoding.hpp"

namespace dvi {

namespace {

constexpr std::size_t k_node_budget = 200000;  // bounds alias expansion ("billion laughs")

struct Converter {
    const std::string& source;
    YamlDocument& out;
    std::size_t nodes = 0;

    std::string where(const YAML::Mark& m) const { return source + ":" + std::to_string(m.line + 1); }

    Result<Json> scalar(const YAML::Node& n) {
        const std::string& text = n.Scalar();
        const std::string& tag = n.Tag();
        if (tag == "!" || tag == "tag:yaml.org,2002:str") return Json(text);
        if (tag == "tag:yaml.org,2002:null") return Json(nullptr);
        static const std::regex k_int("^[-+]?[0-9]+$");
        static const std::regex k_float("^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$");
        if (tag == "?" || tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:bool" ||
            tag == "tag:yaml.org,2002:float") {
            if (tag == "?" && (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL"))
                return Json(nullptr);
            if (text == "true" || text == "True" || text == "TRUE") return Json(true);
            if (text == "false" || text == "False" || text == "FALSE") return Json(false);
            if (std::regex_match(text, k_int)) {
                try {
                    std::size_t used = 0;
                    long long v = std::stoll(text, &used, 10);
                    return Json(static_cast<std::int64_t>(v));
                } catch (const std::exception&) {
                    return make_error(Errc::invalid_input, where(n.Mark()) + ": integer out of range: " + text);
                }
            }
            if (std::regex_match(text, k_float)) return Json(std::strtod(text.c_str(), nullptr));
            // strtod reads ".inf" as 0: the core schema's special floats are spelt out here.
            static const std::regex k_inf("^[-+]?\\.(inf|Inf|INF)$");
            if (std::regex_match(text, k_inf))
                return Json(text[0] == '-' ? -std::numeric_limits<double>::infinity()
                                           : std::numeric_limits<double>::infinity());
            if (text == ".nan" || text == ".NaN" || text == ".NAN") return Json(std::numeric_limits<double>::quiet_NaN());
            if (tag == "?") return Json(text);
            return make_error(Errc::invalid_input, where(n.Mark()) + ": value '" + text + "' does not fit its tag");
        }
        return make_error(Errc::invalid_input, where(n.Mark()) + ": unsupported tag '" + tag + "'");
    }

    Result<Json> convert(const YAML::Node& n, const std::string& ptr, int depth) {
        if (++nodes > k_node_budget)
            return make_error(Errc::invalid_input, source + ": document too large (more than " +
                                                       std::to_string(k_node_budget) + " values after aliases)");
        if (depth > 64) return make_error(Errc::invalid_input, where(n.Mark()) + ": nesting too deep");
        out.lines.emplace(ptr, n.Mark().line + 1);
        switch (n.Type()) {
        case YAML::NodeType::Null: return Json(nullptr);
        case YAML::NodeType::Scalar: return scalar(n);
        case YAML::NodeType::Sequence: {
            Json arr = Json::array();
            std::size_t i = 0;
            for (const auto& item : n) {
                DVI_TRY(v, convert(item, ptr + "/" + std::to_string(i++), depth + 1));
                arr.push_back(std::move(v));
            }
            return arr;
        }
        case YAML::NodeType::Map: {
            Json obj = Json::object();
            for (const auto& kv : n) {
                if (!kv.first.IsScalar())
                    return make_error(Errc::invalid_input, where(kv.first.Mark()) + ": keys must be plain text");
                std::string key = kv.first.Scalar();
                if (obj.contains(key))
                    return make_error(Errc::invalid_input, where(kv.first.Mark()) + ": duplicate key '" + key + "'");
                std::string tok;
                for (char c : key) tok += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
                // A value's line is its key's: "certificate:" rather than the first line inside.
                out.lines.emplace(ptr + "/" + tok, kv.first.Mark().line + 1);
                DVI_TRY(v, convert(kv.second, ptr + "/" + tok, depth + 1));
                obj[key] = std::move(v);
            }
            return obj;
        }
        default: return make_error(Errc::invalid_input, where(n.Mark()) + ": unsupported YAML node");
        }
    }
};

}  // namespace

int YamlDocument::line_of(std::string pointer) const {
    while (true) {
        auto it = lines.find(pointer);
        if (it != lines.end()) return it->second;
        auto slash = pointer.rfind('/');
        if (pointer.empty() || slash == std::string::npos) return 0;
        pointer.erase(slash);
    }
}

Result<YamlDocument> yaml_parse(std::string_view text, const std::string& source_name) {
    // YAML streams are Unicode text: well-formed UTF-8 here, without control characters
    // other than tab and line breaks (a NUL or an escape would reach records and reports).
    auto where = [&](std::size_t at) {
        std::size_t line = 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
        auto bol = text.rfind('\n', at == 0 ? 0 : at - 1);
        std::size_t col = at == 0 || bol == std::string_view::npos ? at + 1 : at - bol;
        return source_name + ":" + std::to_string(line) + ":" + std::to_string(col);
    };
    auto hex = [](unsigned char c) {
        const char* d = "0123456789abcdef";
        return std::string("0x") + d[c >> 4] + d[c & 15];
    };
    if (auto bad = util::utf8_invalid_at(text); bad != std::string_view::npos)
        return make_error(Errc::invalid_input, where(bad) + ": not UTF-8 (byte " + hex(static_cast<unsigned char>(text[bad])) + ")",
                          "save the manifest as UTF-8");
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F)
            return make_error(Errc::invalid_input, where(i) + ": control character " + hex(c) + " is not allowed in YAML");
    }
    std::vector<YAML::Node> docs;
    try {
        docs = YAML::LoadAll(std::string(text));
    } catch (const YAML::Exception& e) {
        return make_error(Errc::invalid_input, source_name + ":" + std::to_string(e.mark.line + 1) +
                                                   ": YAML syntax error: " + e.msg);
    }
    if (docs.empty()) return make_error(Errc::invalid_input, source_name + ": empty document");
    if (docs.size() > 1)
        return make_error(Errc::invalid_input, source_name + ": more than one YAML document",
                          "give one manifest per file");
    YamlDocument out;
    Converter c{source_name, out};
    try {
        DVI_TRY(v, c.convert(docs[0], "", 0));
        out.value = std::move(v);
    } catch (const YAML::Exception& e) {
        return make_error(Errc::invalid_input, source_name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    return out;
}

}  // namespace dvi
