#include "dvi/schema.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <regex>
#include <set>

#include "schemas_embedded.hpp"

namespace dvi {

namespace {

const std::set<std::string>& supported_keywords() {
    static const std::set<std::string> k{
        "$schema", "$id", "$defs", "$ref", "$comment", "title", "description", "examples", "default",
        "type", "properties", "required", "additionalProperties", "enum", "const", "pattern",
        "minLength", "maxLength", "items", "minItems", "maxItems", "uniqueItems", "minimum", "maximum",
        "if", "then", "else", "allOf", "anyOf", "oneOf", "not", "propertyNames", "minProperties",
        "maxProperties", "format"};
    return k;
}

std::string escape_pointer_token(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '~') out += "~0";
        else if (c == '/') out += "~1";
        else out += c;
    }
    return out;
}

std::size_t utf8_length(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s)
        if ((c & 0xc0) != 0x80) ++n;
    return n;
}

std::string type_name(const Json& v) {
    switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer";
    case Json::value_t::number_float: return "a decimal number";
    case Json::value_t::string: return "a string";
    case Json::value_t::array: return "a list";
    case Json::value_t::object: return "a mapping";
    default: return "an unsupported value";
    }
}

bool has_type(const Json& v, const std::string& t) {
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "integer") return v.is_number_integer();
    if (t == "number") return v.is_number();
    if (t == "boolean") return v.is_boolean();
    if (t == "null") return v.is_null();
    return false;
}

std::string expected_name(const std::string& t) {
    static const std::map<std::string, std::string> names{
        {"object", "a mapping"}, {"array", "a list"}, {"string", "a string"}, {"integer", "an integer"},
        {"number", "a number"}, {"boolean", "a boolean"}, {"null", "null"}};
    auto it = names.find(t);
    return it == names.end() ? t : it->second;
}

std::string short_value(const Json& v) {
    std::string s = v.is_string() ? v.get<std::string>() : v.dump();
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return "'" + s + "'";
}

class Validator {
public:
    explicit Validator(const Json& root) : m_root(&root) {}

    Status run(const Json& schema, const Json& doc, const std::string& ptr, std::vector<SchemaViolation>& out,
               int depth = 0) {
        if (depth > 64) return make_error(Errc::internal, "schema recursion too deep");
        if (schema.is_boolean()) {
            if (!schema.get<bool>()) add(out, ptr, "is not allowed");
            return {};
        }
        if (!schema.is_object()) return make_error(Errc::internal, "schema is not an object at " + ptr);
        for (auto it = schema.begin(); it != schema.end(); ++it)
            if (!supported_keywords().count(it.key()))
                return make_error(Errc::internal, "unsupported schema keyword '" + it.key() + "'");

        if (auto r = schema.find("$ref"); r != schema.end()) {
            DVI_TRY(target, resolve(r->get<std::string>()));
            const Json* saved = m_root;
            m_root = target.first;  // refs inside another file are relative to that file
            auto st = run(*target.second, doc, ptr, out, depth + 1);
            m_root = saved;
            DVI_CHECK(st);
        }
        if (auto t = schema.find("type"); t != schema.end()) {
            std::vector<std::string> types;
            if (t->is_string()) types.push_back(*t);
            else for (auto& x : *t) types.push_back(x);
            bool match = std::any_of(types.begin(), types.end(), [&](auto& ty) { return has_type(doc, ty); });
            if (!match) {
                std::string exp;
                for (std::size_t i = 0; i < types.size(); ++i) exp += (i ? " or " : "") + expected_name(types[i]);
                std::string msg = "expected " + exp + ", found " + type_name(doc);
                if (doc.is_number_float() && std::find(types.begin(), types.end(), "string") != types.end())
                    msg += " (write decimal quantities as strings with units, e.g. \"0.2 mm\")";
                add(out, ptr, msg);
                return {};  // further checks would only repeat the same fault
            }
        }
        if (auto c = schema.find("const"); c != schema.end() && doc != *c)
            add(out, ptr, "must be " + short_value(*c) + ", found " + short_value(doc));
        if (auto e = schema.find("enum"); e != schema.end()) {
            if (std::find(e->begin(), e->end(), doc) == e->end()) {
                std::string list;
                for (std::size_t i = 0; i < e->size(); ++i)
                    list += (i ? ", " : "") + ((*e)[i].is_string() ? (*e)[i].get<std::string>() : (*e)[i].dump());
                add(out, ptr, short_value(doc) + " is not one of: " + list);
            }
        }
        if (doc.is_string()) DVI_CHECK(string_checks(schema, doc.get<std::string>(), ptr, out));
        if (doc.is_number()) {
            if (auto m = schema.find("minimum"); m != schema.end() && doc < *m)
                add(out, ptr, "must be at least " + m->dump());
            if (auto m = schema.find("maximum"); m != schema.end() && doc > *m)
                add(out, ptr, "must be at most " + m->dump());
        }
        if (doc.is_object()) DVI_CHECK(object_checks(schema, doc, ptr, out, depth));
        if (doc.is_array()) DVI_CHECK(array_checks(schema, doc, ptr, out, depth));

        if (auto a = schema.find("allOf"); a != schema.end())
            for (auto& s : *a) DVI_CHECK(run(s, doc, ptr, out, depth + 1));
        if (auto a = schema.find("anyOf"); a != schema.end()) {
            bool any = false;
            for (auto& s : *a) {
                DVI_TRY(n, count(s, doc, ptr, depth));
                if (n == 0) any = true;
            }
            if (!any) add(out, ptr, "matches none of the allowed forms");
        }
        if (auto a = schema.find("oneOf"); a != schema.end()) {
            int matches = 0;
            for (auto& s : *a) {
                DVI_TRY(n, count(s, doc, ptr, depth));
                if (n == 0) ++matches;
            }
            if (matches != 1) add(out, ptr, matches == 0 ? "matches none of the allowed forms" : "is ambiguous");
        }
        if (auto n = schema.find("not"); n != schema.end()) {
            DVI_TRY(c, count(*n, doc, ptr, depth));
            if (c == 0) add(out, ptr, "is not allowed here");
        }
        if (auto i = schema.find("if"); i != schema.end()) {
            DVI_TRY(c, count(*i, doc, ptr, depth));
            if (c == 0) {
                if (auto t = schema.find("then"); t != schema.end()) DVI_CHECK(run(*t, doc, ptr, out, depth + 1));
            } else if (auto e = schema.find("else"); e != schema.end()) {
                DVI_CHECK(run(*e, doc, ptr, out, depth + 1));
            }
        }
        return {};
    }

private:
    const Json* m_root;

    static void add(std::vector<SchemaViolation>& out, const std::string& ptr, std::string msg) {
        out.push_back({ptr, pointer_to_field(ptr), std::move(msg)});
    }

    Result<std::size_t> count(const Json& schema, const Json& doc, const std::string& ptr, int depth) {
        std::vector<SchemaViolation> tmp;
        DVI_CHECK(run(schema, doc, ptr, tmp, depth + 1));
        return tmp.size();
    }

    // "#/$defs/x" in the current file, or "<name>.schema.json#/$defs/x" in another
    // compiled-in schema.
    Result<std::pair<const Json*, const Json*>> resolve(const std::string& ref) {
        auto hash = ref.find('#');
        if (hash == std::string::npos) return make_error(Errc::internal, "unsupported $ref '" + ref + "'");
        const Json* root = m_root;
        if (hash > 0) {
            std::string file = ref.substr(0, hash);
            constexpr std::string_view k_suffix = ".schema.json";
            if (file.size() <= k_suffix.size() || file.compare(file.size() - k_suffix.size(), k_suffix.size(), k_suffix) != 0)
                return make_error(Errc::internal, "unsupported $ref '" + ref + "'");
            DVI_TRY(other, schema_by_name(file.substr(0, file.size() - k_suffix.size())));
            root = other;
        }
        try {
            return std::make_pair(root, &root->at(Json::json_pointer(ref.substr(hash + 1))));
        } catch (const Json::exception&) {
            return make_error(Errc::internal, "unresolved $ref '" + ref + "'");
        }
    }

    static constexpr std::size_t k_max_pattern_subject = 4096;

    Status string_checks(const Json& schema, const std::string& s, const std::string& ptr,
                         std::vector<SchemaViolation>& out) {
        auto len = utf8_length(s);
        if (auto m = schema.find("minLength"); m != schema.end() && len < m->get<std::size_t>())
            add(out, ptr, len == 0 ? "must not be empty" : "is too short (at least " + m->dump() + " characters)");
        if (auto m = schema.find("maxLength"); m != schema.end() && len > m->get<std::size_t>())
            add(out, ptr, "is too long (at most " + m->dump() + " characters)");
        if (auto p = schema.find("pattern"); p != schema.end() && s.size() > k_max_pattern_subject) {
            // libstdc++'s std::regex recurses per character: a long enough string would
            // overflow the stack. Every field with a pattern is short by nature.
            add(out, ptr, "is too long (at most " + std::to_string(k_max_pattern_subject) + " bytes for this field)");
        } else if (p != schema.end()) {
            const std::string pat = *p;
            // Compiled once per thread: std::regex construction costs more than matching.
            thread_local std::map<std::string, std::regex> compiled;
            auto it = compiled.find(pat);
            if (it == compiled.end()) {
                try {
                    it = compiled.emplace(pat, std::regex(pat, std::regex::ECMAScript)).first;
                } catch (const std::regex_error&) {
                    return make_error(Errc::internal, "bad pattern in schema: " + pat);
                }
            }
            if (!std::regex_search(s, it->second)) {
                // A description says what the pattern means ("a date as YYYY-MM-DD").
                add(out, ptr, short_value(Json(s)) + (schema.contains("description")
                                                          ? " is not " + schema["description"].get<std::string>()
                                                          : " does not match the pattern " + pat));
            }
        }
        return {};
    }

    Status object_checks(const Json& schema, const Json& doc, const std::string& ptr,
                         std::vector<SchemaViolation>& out, int depth) {
        const Json* props = schema.contains("properties") ? &schema["properties"] : nullptr;
        if (auto r = schema.find("required"); r != schema.end())
            for (auto& name : *r)
                if (!doc.contains(name.get<std::string>()))
                    add(out, ptr + "/" + escape_pointer_token(name), "is missing");
        if (auto m = schema.find("minProperties"); m != schema.end() && doc.size() < m->get<std::size_t>())
            add(out, ptr, "must have at least " + m->dump() + " entries");
        if (auto m = schema.find("maxProperties"); m != schema.end() && doc.size() > m->get<std::size_t>())
            add(out, ptr, "must have at most " + m->dump() + " entries");
        for (auto it = doc.begin(); it != doc.end(); ++it) {
            std::string child = ptr + "/" + escape_pointer_token(it.key());
            if (auto pn = schema.find("propertyNames"); pn != schema.end())
                DVI_CHECK(run(*pn, Json(it.key()), child, out, depth + 1));
            if (props && props->contains(it.key())) {
                DVI_CHECK(run((*props)[it.key()], it.value(), child, out, depth + 1));
            } else if (auto ap = schema.find("additionalProperties"); ap != schema.end()) {
                if (ap->is_boolean() && !ap->get<bool>())
                    add(out, child, "is not a known field");
                else
                    DVI_CHECK(run(*ap, it.value(), child, out, depth + 1));
            }
        }
        return {};
    }

    Status array_checks(const Json& schema, const Json& doc, const std::string& ptr,
                        std::vector<SchemaViolation>& out, int depth) {
        if (auto m = schema.find("minItems"); m != schema.end() && doc.size() < m->get<std::size_t>())
            add(out, ptr, doc.empty() ? "must not be empty" : "needs at least " + m->dump() + " entries");
        if (auto m = schema.find("maxItems"); m != schema.end() && doc.size() > m->get<std::size_t>())
            add(out, ptr, "has too many entries (at most " + m->dump() + ")");
        if (auto u = schema.find("uniqueItems"); u != schema.end() && u->get<bool>()) {
            for (std::size_t i = 0; i < doc.size(); ++i)
                for (std::size_t j = 0; j < i; ++j)
                    if (doc[i] == doc[j]) {
                        add(out, ptr + "/" + std::to_string(i), "repeats entry " + std::to_string(j));
                        break;
                    }
        }
        if (auto items = schema.find("items"); items != schema.end())
            for (std::size_t i = 0; i < doc.size(); ++i)
                DVI_CHECK(run(*items, doc[i], ptr + "/" + std::to_string(i), out, depth + 1));
        return {};
    }
};

}  // namespace

std::string pointer_to_field(std::string_view pointer) {
    if (pointer.empty()) return "(document)";
    std::string out;
    std::size_t pos = 1;
    while (pos <= pointer.size()) {
        auto next = pointer.find('/', pos);
        if (next == std::string_view::npos) next = pointer.size();
        std::string tok(pointer.substr(pos, next - pos));
        std::string unescaped;
        for (std::size_t i = 0; i < tok.size(); ++i) {
            if (tok[i] == '~' && i + 1 < tok.size()) {
                unescaped += tok[i + 1] == '1' ? '/' : '~';
                ++i;
            } else {
                unescaped += tok[i];
            }
        }
        bool index = !unescaped.empty() && std::all_of(unescaped.begin(), unescaped.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (index) out += "[" + unescaped + "]";
        else out += (out.empty() ? "" : ".") + unescaped;
        pos = next + 1;
    }
    return out;
}

Result<const Json*> schema_by_name(std::string_view name) {
    // Parsed on first use, one at a time: a record write needs two of the embedded
    // schemas, not all of them. Map nodes never move, so the pointers stay valid.
    static std::mutex mutex;
    static std::map<std::string, Json, std::less<>> parsed;
    std::lock_guard lock(mutex);
    if (auto it = parsed.find(name); it != parsed.end()) return &it->second;
    for (const auto& s : embedded_schemas())
        if (s.name == name) return &parsed.emplace(std::string(s.name), Json::parse(s.text)).first->second;
    return make_error(Errc::not_found, "no schema named '" + std::string(name) + "'");
}

std::vector<std::string> schema_names() {
    std::vector<std::string> out;
    for (const auto& s : embedded_schemas()) out.emplace_back(s.name);
    std::sort(out.begin(), out.end());
    return out;
}

Result<std::vector<SchemaViolation>> schema_validate(const Json& schema, const Json& doc) {
    std::vector<SchemaViolation> out;
    Validator v(schema);
    DVI_CHECK(v.run(schema, doc, "", out));
    return out;
}

}  // namespace dvi
