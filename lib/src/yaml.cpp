#include "dvi/yaml.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <limits>
#include <sstream>

#include "dvi/schema.hpp"
#include "dvi/util/encoding.hpp"

namespace dvi {

namespace {

// The YAML 1.2 core schema's plain int and float, matched by hand: std::regex recurses
// per character, and a long enough scalar would overflow the stack.
std::size_t skip_digits(std::string_view s, std::size_t i) {
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i;
}
std::size_t skip_sign(std::string_view s, std::size_t i) { return i < s.size() && (s[i] == '-' || s[i] == '+') ? i + 1 : i; }

// [-+]?[0-9]+
bool is_core_int(std::string_view s) {
    std::size_t i = skip_sign(s, 0), j = skip_digits(s, i);
    return j > i && j == s.size();
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool is_core_float(std::string_view s) {
    std::size_t i = skip_sign(s, 0);
    if (i < s.size() && s[i] == '.') {
        std::size_t j = skip_digits(s, i + 1);
        if (j == i + 1) return false;
        i = j;
    } else {
        std::size_t j = skip_digits(s, i);
        if (j == i) return false;
        i = j;
        if (i < s.size() && s[i] == '.') i = skip_digits(s, i + 1);
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        std::size_t e = skip_sign(s, i + 1), j = skip_digits(s, e);
        if (j == e) return false;
        i = j;
    }
    return i == s.size();
}

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
        if (tag == "?" || tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:bool" ||
            tag == "tag:yaml.org,2002:float") {
            if (tag == "?" && (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL"))
                return Json(nullptr);
            if (text == "true" || text == "True" || text == "TRUE") return Json(true);
            if (text == "false" || text == "False" || text == "FALSE") return Json(false);
            if (is_core_int(text)) {
                try {
                    std::size_t used = 0;
                    long long v = std::stoll(text, &used, 10);
                    return Json(static_cast<std::int64_t>(v));
                } catch (const std::exception&) {
                    return make_error(Errc::invalid_input, where(n.Mark()) + ": integer out of range: " + text);
                }
            }
            if (is_core_float(text)) return Json(std::strtod(text.c_str(), nullptr));
            // strtod reads ".inf" as 0: the core schema's special floats are spelt out here.
            std::string_view unsigned_text = text;
            if (!unsigned_text.empty() && (unsigned_text[0] == '-' || unsigned_text[0] == '+')) unsigned_text.remove_prefix(1);
            if (unsigned_text == ".inf" || unsigned_text == ".Inf" || unsigned_text == ".INF")
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
        case YAML::NodeType::Scalar:
            // An escape ("\e", "\0", "\u202e") decodes to what the raw text may not hold.
            if (auto c = util::control_char_in(n.Scalar(), util::LineBreaks::allowed))
                return make_error(Errc::invalid_input, where(n.Mark()) + ": field '" + pointer_to_field(ptr) +
                                                           "': control character " + c->name() + " is not allowed");
            return scalar(n);
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
                if (auto c = util::control_char_in(key, util::LineBreaks::refused))
                    return make_error(Errc::invalid_input, where(kv.first.Mark()) + ": control character " + c->name() +
                                                               " is not allowed in a key");
                if (obj.contains(key))
                    return make_error(Errc::invalid_input, where(kv.first.Mark()) + ": duplicate key '" + key + "'");
                std::string child = ptr;
                append_pointer_token(child, key);
                // A value's line is its key's: "certificate:" rather than the first line inside.
                out.lines.emplace(child, kv.first.Mark().line + 1);
                DVI_TRY(v, convert(kv.second, child, depth + 1));
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

namespace {
// Hears a document's events and keeps none of them.
struct DocumentCounter : YAML::EventHandler {
    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};
}  // namespace

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
    YAML::Node doc;
    try {
        // Documents are counted first, up to two, without building them: yaml-cpp 0.7's
        // LoadAll never ends (and allocates until it fails) on streams such as
        // "{a: b},", where its parser hands back an empty document at the same place.
        std::istringstream in{std::string(text)};
        YAML::Parser parser(in);
        DocumentCounter counter;
        std::size_t n = 0;
        while (n < 2 && parser.HandleNextDocument(counter)) ++n;
        if (n == 0) return make_error(Errc::invalid_input, source_name + ": empty document");
        if (n > 1)
            return make_error(Errc::invalid_input, source_name + ": more than one YAML document",
                              "give one manifest per file");
        doc = YAML::Load(std::string(text));
    } catch (const YAML::DeepRecursion& e) {
        // yaml-cpp stops past its own depth limit with the message "bad file".
        return make_error(Errc::invalid_input,
                          source_name + ":" + std::to_string(e.mark.line + 1) + ": nesting too deep");
    } catch (const YAML::Exception& e) {
        return make_error(Errc::invalid_input, source_name + ":" + std::to_string(e.mark.line + 1) +
                                                   ": YAML syntax error: " + e.msg);
    }
    YamlDocument out;
    Converter c{source_name, out};
    try {
        DVI_TRY(v, c.convert(doc, "", 0));
        out.value = std::move(v);
    } catch (const YAML::Exception& e) {
        return make_error(Errc::invalid_input, source_name + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    return out;
}

}  // namespace dvi
