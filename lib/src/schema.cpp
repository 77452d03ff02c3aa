#include "dvi/schema.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <unordered_map>

#include "dvi/util/encoding.hpp"
#include "pattern.hpp"
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

// Whether `v` is of the type, or of one of the types, that a schema's "type" names.
bool matches_type(const Json& v, const Json& type) {
    if (type.is_string()) return has_type(v, type.get_ref<const std::string&>());
    return std::any_of(type.begin(), type.end(),
                       [&](const Json& t) { return t.is_string() && has_type(v, t.get_ref<const std::string&>()); });
}

std::string expected_name(const std::string& t) {
    static const std::map<std::string, std::string> names{
        {"object", "a mapping"}, {"array", "a list"}, {"string", "a string"}, {"integer", "an integer"},
        {"number", "a number"}, {"boolean", "a boolean"}, {"null", "null"}};
    auto it = names.find(t);
    return it == names.end() ? t : it->second;
}

// The number written by the digits s[at, at + n), or -1 when one of them is not a digit.
int digits(std::string_view s, std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (i >= s.size() || s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

// YYYY-MM-DD, a day of the (proleptic Gregorian) calendar.
bool calendar_date(std::string_view s) {
    if (s.size() < 10 || s[4] != '-' || s[7] != '-') return false;
    const int y = digits(s, 0, 4), m = digits(s, 5, 2), d = digits(s, 8, 2);
    if (y < 0 || m < 1 || m > 12 || d < 1) return false;
    static constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= k_days[m - 1] + (m == 2 && leap ? 1 : 0);
}

// YYYY-MM-DDTHH:MM:SSZ, in UTC (a leap second allowed).
bool calendar_time(std::string_view s) {
    if (s.size() != 20 || !calendar_date(s) || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
        return false;
    const int h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
    return h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && sec >= 0 && sec <= 59;  // POSIX time: no leap second
}

std::string short_value(const Json& v) {
    std::string s = v.is_string() ? util::escape_controls(v.get_ref<const std::string&>()) : v.dump();
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return "'" + s + "'";
}

// The keywords of one schema object, found once per thread: a record's validation asks
// each of them at every node, and a map lookup by name each time cost more than the
// checks themselves. The schemas are compiled in, so their addresses are stable.
struct Keywords {
    const Json* ref = nullptr;
    const Json* type = nullptr;
    const Json* const_ = nullptr;
    const Json* enum_ = nullptr;
    const Json* minimum = nullptr;
    const Json* maximum = nullptr;
    const Json* all_of = nullptr;
    const Json* any_of = nullptr;
    const Json* one_of = nullptr;
    const Json* not_ = nullptr;
    const Json* if_ = nullptr;
    const Json* then_ = nullptr;
    const Json* else_ = nullptr;
    const Json* min_length = nullptr;
    const Json* max_length = nullptr;
    const Json* pattern = nullptr;
    const Json* format = nullptr;
    const Json* description = nullptr;
    const Json* properties = nullptr;
    const Json* required = nullptr;
    const Json* min_properties = nullptr;
    const Json* max_properties = nullptr;
    const Json* property_names = nullptr;
    const Json* additional_properties = nullptr;
    const Json* min_items = nullptr;
    const Json* max_items = nullptr;
    const Json* unique_items = nullptr;
    const Json* items = nullptr;
    std::string unsupported;  // the first keyword this validator does not know
};

Keywords scan_keywords(const Json& schema) {
    Keywords k;
    for (auto e = schema.begin(); e != schema.end(); ++e) {
        const std::string& key = e.key();
        if (!supported_keywords().count(key)) {
            if (k.unsupported.empty()) k.unsupported = key;
            continue;
        }
        if (key == "$ref") k.ref = &e.value();
        if (key == "type") k.type = &e.value();
        if (key == "const") k.const_ = &e.value();
        if (key == "enum") k.enum_ = &e.value();
        if (key == "minimum") k.minimum = &e.value();
        if (key == "maximum") k.maximum = &e.value();
        if (key == "allOf") k.all_of = &e.value();
        if (key == "anyOf") k.any_of = &e.value();
        if (key == "oneOf") k.one_of = &e.value();
        if (key == "not") k.not_ = &e.value();
        if (key == "if") k.if_ = &e.value();
        if (key == "then") k.then_ = &e.value();
        if (key == "else") k.else_ = &e.value();
        if (key == "minLength") k.min_length = &e.value();
        if (key == "maxLength") k.max_length = &e.value();
        if (key == "pattern") k.pattern = &e.value();
        if (key == "format") k.format = &e.value();
        if (key == "description") k.description = &e.value();
        if (key == "properties") k.properties = &e.value();
        if (key == "required") k.required = &e.value();
        if (key == "minProperties") k.min_properties = &e.value();
        if (key == "maxProperties") k.max_properties = &e.value();
        if (key == "propertyNames") k.property_names = &e.value();
        if (key == "additionalProperties") k.additional_properties = &e.value();
        if (key == "minItems") k.min_items = &e.value();
        if (key == "maxItems") k.max_items = &e.value();
        if (key == "uniqueItems") k.unique_items = &e.value();
        if (key == "items") k.items = &e.value();
    }
    return k;
}

const Keywords& cached_keywords(const Json& schema) {
    thread_local std::unordered_map<const Json*, Keywords> cache;
    auto it = cache.find(&schema);
    if (it == cache.end()) it = cache.emplace(&schema, scan_keywords(schema)).first;
    return it->second;
}

class Validator {
public:
    // `compiled_in`: the schema is one of the embedded ones, whose nodes live as long as
    // the process, so what is found in them can be kept by address.
    Validator(const Json& root, bool compiled_in) : m_root(&root), m_compiled_in(compiled_in) {}

    // `ptr`: the JSON pointer of `doc`, a buffer the checks of its members extend and
    // restore (no string is built for a member that has no finding).
    Status run(const Json& schema, const Json& doc, std::string& ptr, std::vector<SchemaViolation>& out,
               int depth = 0) {
        if (depth > 64) return make_error(Errc::internal, "schema recursion too deep");
        if (schema.is_boolean()) {
            if (!schema.get<bool>()) add(out, ptr, "is not allowed");
            return {};
        }
        if (!schema.is_object()) return make_error(Errc::internal, "schema is not an object at " + ptr);
        Keywords scanned;
        if (!m_compiled_in) scanned = scan_keywords(schema);
        const Keywords& kw = m_compiled_in ? cached_keywords(schema) : scanned;
        if (!kw.unsupported.empty()) return make_error(Errc::internal, "unsupported schema keyword '" + kw.unsupported + "'");

        if (auto r = kw.ref; r) {
            DVI_TRY(target, resolve(*r));
            const Json* saved = m_root;
            m_root = target.first;  // refs inside another file are relative to that file
            auto st = run(*target.second, doc, ptr, out, depth + 1);
            m_root = saved;
            DVI_CHECK(st);
        }
        if (auto t = kw.type; t && !matches_type(doc, *t)) {
            std::vector<std::string> types;
            if (t->is_string()) types.push_back(*t);
            else for (auto& x : *t) types.push_back(x);
            std::string exp;
            for (std::size_t i = 0; i < types.size(); ++i) exp += (i ? " or " : "") + expected_name(types[i]);
            std::string msg = "expected " + exp + ", found " + type_name(doc);
            if (doc.is_number_float() && std::find(types.begin(), types.end(), "string") != types.end())
                msg += " (write decimal quantities as strings with units, e.g. \"0.2 mm\")";
            add(out, ptr, msg);
            return {};  // further checks would only repeat the same fault
        }
        if (auto c = kw.const_; c && doc != *c)
            add(out, ptr, "must be " + short_value(*c) + ", found " + short_value(doc));
        if (auto e = kw.enum_; e) {
            if (std::find(e->begin(), e->end(), doc) == e->end()) {
                std::string list;
                for (std::size_t i = 0; i < e->size(); ++i)
                    list += (i ? ", " : "") + ((*e)[i].is_string() ? (*e)[i].get<std::string>() : (*e)[i].dump());
                add(out, ptr, short_value(doc) + " is not one of: " + list);
            }
        }
        if (doc.is_string()) DVI_CHECK(string_checks(kw, doc.get_ref<const std::string&>(), ptr, out));
        if (doc.is_number()) {
            if (auto m = kw.minimum; m && doc < *m)
                add(out, ptr, "must be at least " + m->dump());
            if (auto m = kw.maximum; m && doc > *m)
                add(out, ptr, "must be at most " + m->dump());
        }
        if (doc.is_object()) DVI_CHECK(object_checks(kw, doc, ptr, out, depth));
        if (doc.is_array()) DVI_CHECK(array_checks(kw, doc, ptr, out, depth));

        if (auto a = kw.all_of; a)
            for (auto& s : *a) DVI_CHECK(run(s, doc, ptr, out, depth + 1));
        if (auto a = kw.any_of; a) {
            bool any = false;
            for (auto& s : *a) {
                DVI_TRY(n, count(s, doc, ptr, depth));
                if (n == 0) any = true;
            }
            if (!any) add(out, ptr, "matches none of the allowed forms");
        }
        if (auto a = kw.one_of; a) {
            int matches = 0;
            for (auto& s : *a) {
                DVI_TRY(n, count(s, doc, ptr, depth));
                if (n == 0) ++matches;
            }
            if (matches != 1) add(out, ptr, matches == 0 ? "matches none of the allowed forms" : "is ambiguous");
        }
        if (auto n = kw.not_; n) {
            DVI_TRY(c, count(*n, doc, ptr, depth));
            if (c == 0) add(out, ptr, "is not allowed here");
        }
        if (auto i = kw.if_; i) {
            DVI_TRY(c, count(*i, doc, ptr, depth));
            if (c == 0) {
                if (auto t = kw.then_; t) DVI_CHECK(run(*t, doc, ptr, out, depth + 1));
            } else if (auto e = kw.else_; e) {
                DVI_CHECK(run(*e, doc, ptr, out, depth + 1));
            }
        }
        return {};
    }

private:
    const Json* m_root;
    bool m_compiled_in;

    static void add(std::vector<SchemaViolation>& out, const std::string& ptr, std::string msg) {
        out.push_back({ptr, pointer_to_field(ptr), std::move(msg)});
    }

    Result<std::size_t> count(const Json& schema, const Json& doc, std::string& ptr, int depth) {
        std::vector<SchemaViolation> tmp;
        DVI_CHECK(run(schema, doc, ptr, tmp, depth + 1));
        return tmp.size();
    }

    // "#/$defs/x" in the current file, or "<name>.schema.json#/$defs/x" in another
    // compiled-in schema.
    // Resolved once per thread and file.
    Result<std::pair<const Json*, const Json*>> resolve(const Json& ref_value) {
        if (!m_compiled_in) return resolve_now(ref_value.get<std::string>());
        thread_local std::map<std::pair<const Json*, const Json*>, std::pair<const Json*, const Json*>> resolved;
        auto key = std::make_pair(m_root, &ref_value);
        if (auto it = resolved.find(key); it != resolved.end()) return it->second;
        DVI_TRY(target, resolve_now(ref_value.get<std::string>()));
        resolved.emplace(key, target);
        return target;
    }

    Result<std::pair<const Json*, const Json*>> resolve_now(const std::string& ref) {
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

    Status string_checks(const Keywords& kw, const std::string& s, const std::string& ptr,
                         std::vector<SchemaViolation>& out) {
        const std::size_t found_before = out.size();
        const auto len = kw.min_length || kw.max_length ? util::utf8_length(s) : 0;
        if (auto m = kw.min_length; m && len < m->get<std::size_t>())
            add(out, ptr, len == 0 ? "must not be empty" : "is too short (at least " + m->dump() + " characters)");
        if (auto m = kw.max_length; m && len > m->get<std::size_t>())
            add(out, ptr, "is too long (at most " + m->dump() + " characters)");
        if (auto p = kw.pattern; p && s.size() > k_max_pattern_subject) {
            // libstdc++'s std::regex recurses per character: a long enough string would
            // overflow the stack. Every field with a pattern is short by nature.
            add(out, ptr, "is too long (at most " + std::to_string(k_max_pattern_subject) + " bytes for this field)");
        } else if (p) {
            // Compiled once per thread and pattern: std::regex construction costs more
            // than matching, and is needed only outside SimplePattern's subset.
            struct Compiled {
                std::optional<SimplePattern> simple;
                std::optional<std::regex> regex;
                bool search(const std::string& s) const { return simple ? simple->search(s) : std::regex_search(s, *regex); }
            };
            thread_local std::map<std::string, Compiled, std::less<>> compiled;
            const std::string& pat = p->get_ref<const std::string&>();
            auto it = compiled.find(pat);
            if (it == compiled.end()) {
                Compiled c;
                c.simple = SimplePattern::parse(pat);
                try {
                    if (!c.simple) c.regex.emplace(pat, std::regex::ECMAScript);
                } catch (const std::regex_error&) {
                    return make_error(Errc::internal, "bad pattern in schema: " + p->get<std::string>());
                }
                it = compiled.emplace(pat, std::move(c)).first;
            }
            if (!it->second.search(s)) {
                // A description says what the pattern means ("a date as YYYY-MM-DD").
                add(out, ptr, short_value(Json(s)) + (kw.description ? " is not " + kw.description->get<std::string>()
                                                                     : " does not match the pattern " + p->get<std::string>()));
            }
        }
        // A date or a UTC time that has the shape its pattern asks must also be one of
        // the calendar: 2026-02-30 is not.
        if (auto f = kw.format; f && f->is_string() && out.size() == found_before) {
            const std::string& name = f->get_ref<const std::string&>();
            if (name == "date" && !(s.size() == 10 && calendar_date(s)))
                add(out, ptr, short_value(Json(s)) + " is not a date of the calendar");
            if (name == "date-time" && !calendar_time(s))
                add(out, ptr, short_value(Json(s)) + " is not a UTC time of the calendar");
        }
        return {};
    }

    Status object_checks(const Keywords& kw, const Json& doc, std::string& ptr,
                         std::vector<SchemaViolation>& out, int depth) {
        const Json* props = kw.properties;
        const std::size_t base = ptr.size();
        if (auto r = kw.required; r)
            for (auto& name : *r)
                if (!doc.contains(name.get_ref<const std::string&>())) {
                    append_pointer_token(ptr, name.get_ref<const std::string&>());
                    add(out, ptr, "is missing");
                    ptr.resize(base);
                }
        if (auto m = kw.min_properties; m && doc.size() < m->get<std::size_t>())
            add(out, ptr, "must have at least " + m->dump() + " entries");
        if (auto m = kw.max_properties; m && doc.size() > m->get<std::size_t>())
            add(out, ptr, "must have at most " + m->dump() + " entries");
        for (auto it = doc.begin(); it != doc.end(); ++it) {
            append_pointer_token(ptr, it.key());
            if (auto pn = kw.property_names; pn)
                DVI_CHECK(run(*pn, Json(it.key()), ptr, out, depth + 1));
            auto prop = props ? props->find(it.key()) : Json::const_iterator();
            if (props && prop != props->end()) {
                DVI_CHECK(run(*prop, it.value(), ptr, out, depth + 1));
            } else if (auto ap = kw.additional_properties; ap) {
                if (ap->is_boolean() && !ap->get<bool>())
                    add(out, ptr, "is not a known field");
                else
                    DVI_CHECK(run(*ap, it.value(), ptr, out, depth + 1));
            }
            ptr.resize(base);
        }
        return {};
    }

    Status array_checks(const Keywords& kw, const Json& doc, std::string& ptr,
                        std::vector<SchemaViolation>& out, int depth) {
        const std::size_t base = ptr.size();
        if (auto m = kw.min_items; m && doc.size() < m->get<std::size_t>())
            add(out, ptr, doc.empty() ? "must not be empty" : "needs at least " + m->dump() + " entries");
        if (auto m = kw.max_items; m && doc.size() > m->get<std::size_t>())
            add(out, ptr, "has too many entries (at most " + m->dump() + ")");
        if (auto u = kw.unique_items; u && u->get<bool>()) {
            for (std::size_t i = 0; i < doc.size(); ++i)
                for (std::size_t j = 0; j < i; ++j)
                    if (doc[i] == doc[j]) {
                        add(out, ptr + "/" + std::to_string(i), "repeats entry " + std::to_string(j));
                        break;
                    }
        }
        if (auto items = kw.items; items)
            for (std::size_t i = 0; i < doc.size(); ++i) {
                ptr += '/';
                ptr += std::to_string(i);
                DVI_CHECK(run(*items, doc[i], ptr, out, depth + 1));
                ptr.resize(base);
            }
        return {};
    }
};

}  // namespace

void append_pointer_token(std::string& pointer, const std::string& token) {
    pointer += '/';
    if (token.find_first_of("~/") == std::string::npos) {
        pointer += token;  // nearly every name: no escape
        return;
    }
    for (char c : token) {
        if (c == '~')
            pointer += "~0";
        else if (c == '/')
            pointer += "~1";
        else
            pointer += c;
    }
}

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
    return util::escape_controls(out);  // a field name is shown: it must not act on a terminal
}

namespace {
std::mutex g_schemas_mutex;
std::map<std::string, Json, std::less<>> g_schemas;  // parsed embedded schemas, by name

bool compiled_in(const Json& schema) {
    std::lock_guard lock(g_schemas_mutex);
    return std::any_of(g_schemas.begin(), g_schemas.end(), [&](auto& kv) { return &kv.second == &schema; });
}
}  // namespace

Result<const Json*> schema_by_name(std::string_view name) {
    // Parsed on first use, one at a time: a record write needs two of the embedded
    // schemas, not all of them. Map nodes never move, so the pointers stay valid.
    auto& mutex = g_schemas_mutex;
    auto& parsed = g_schemas;
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
    Validator v(schema, compiled_in(schema));
    std::string pointer;
    DVI_CHECK(v.run(schema, doc, pointer, out));
    return out;
}

}  // namespace dvi
