#include "dvi/seal.hpp"

#include <map>
#include <set>

#include "dvi/record.hpp"
#include "dvi/roster.hpp"
#include "dvi/schema.hpp"
#include "dvi/util/fs.hpp"
#include "dvi/yaml.hpp"

namespace dvi {

namespace fs = std::filesystem;

namespace {

constexpr std::uintmax_t k_max_manifest = 1024 * 1024;

std::string media_type_for(const fs::path& p) {
    static const std::map<std::string, std::string> k{
        {".stl", "model/stl"},          {".3mf", "model/3mf"},         {".step", "model/step"},
        {".stp", "model/step"},         {".obj", "model/obj"},         {".amf", "application/x-amf"},
        {".scad", "text/x-openscad"},   {".gcode", "text/x.gcode"},    {".bgcode", "application/x.bgcode"},
        {".ini", "text/plain"},         {".pdf", "application/pdf"},   {".md", "text/markdown"},
        {".txt", "text/plain"},         {".json", "application/json"}, {".yaml", "application/yaml"},
        {".yml", "application/yaml"},   {".csv", "text/csv"},          {".png", "image/png"},
        {".jpg", "image/jpeg"},         {".jpeg", "image/jpeg"},       {".svg", "image/svg+xml"},
        {".xml", "application/xml"},
    };
    std::string ext = p.extension().string();
    for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto it = k.find(ext);
    return it == k.end() ? "application/octet-stream" : it->second;
}

// A file the manifest names: where it is in the manifest and on disk.
struct PendingFile {
    std::string pointer;   // JSON Pointer of the path value in the manifest
    std::string relative;  // as written
    fs::path real;
    std::string media_type;
};

class ManifestError {
public:
    ManifestError(const std::string& source, const YamlDocument& doc) : m_source(source), m_doc(doc) {}
    void add(const std::string& pointer, const std::string& message) {
        std::string field = pointer_to_field(pointer);
        std::string text = message.rfind("is ", 0) == 0 ? "field '" + field + "' " + message
                                                        : "field '" + field + "': " + message;
        m_lines.push_back(m_source + ":" + std::to_string(m_doc.line_of(pointer)) + ": " + text);
    }
    bool empty() const { return m_lines.empty(); }
    Error error(Errc code = Errc::invalid_input) const {
        std::string msg;
        for (std::size_t i = 0; i < m_lines.size(); ++i) msg += (i ? "\n" : "") + m_lines[i];
        return make_error(code, msg, m_lines.size() > 1 ? "" : "see the manifest's schema in schemas/");
    }

private:
    std::string m_source;
    const YamlDocument& m_doc;
    std::vector<std::string> m_lines;
};

// Checks that schemas cannot express, then resolves every file path.
void check_dossier(const Json& m, ManifestError& err, std::vector<std::string>& path_pointers) {
    std::map<std::string, std::size_t> recipe_names;
    for (std::size_t i = 0; i < m["recipes"].size(); ++i) {
        std::string name = m["recipes"][i]["name"];
        auto [it, fresh] = recipe_names.emplace(name, i);
        if (!fresh)
            err.add("/recipes/" + std::to_string(i) + "/name",
                    "duplicates the recipe name '" + name + "' of recipes[" + std::to_string(it->second) + "]");
        path_pointers.push_back("/recipes/" + std::to_string(i) + "/profile");
        path_pointers.push_back("/recipes/" + std::to_string(i) + "/gcode");
    }
    std::map<std::string, std::size_t> file_paths;
    bool has_model = false;
    for (std::size_t i = 0; i < m["files"].size(); ++i) {
        std::string p = m["files"][i]["path"];
        if (m["files"][i]["role"] == "model") has_model = true;
        auto [it, fresh] = file_paths.emplace(p, i);
        if (!fresh)
            err.add("/files/" + std::to_string(i) + "/path",
                    "lists '" + p + "' again (files[" + std::to_string(it->second) + "])");
        path_pointers.push_back("/files/" + std::to_string(i) + "/path");
    }
    if (!has_model) err.add("/files", "needs at least one file with role 'model'");
}

void check_material_lot(const Json&, ManifestError&, std::vector<std::string>& path_pointers) {
    path_pointers.push_back("/certificate/file");
}

Json artifact_json(const std::string& relative, const ArtifactRef& a) {
    return Json{{"path", relative}, {"sha256", a.sha256}, {"size", a.size}, {"media_type", a.media_type}};
}

}  // namespace

const std::vector<std::string>& seal_kinds() {
    static const std::vector<std::string> k{"dossier", "material-lot"};
    return k;
}

Result<SealOutcome> seal(Ledger& ledger, const crypto::PrivateKey& key, const SealRequest& req) {
    const std::string source = req.manifest.string();
    DVI_TRY(text, util::read_file(req.manifest, k_max_manifest));
    DVI_TRY(doc, yaml_parse(text, source));
    const Json& m = doc.value;
    ManifestError err(source, doc);
    if (!m.is_object())
        return make_error(Errc::invalid_input, source + ":1: a manifest is a mapping with a 'kind' field");
    if (!m.contains("kind") || !m["kind"].is_string()) {
        err.add("/kind", "is missing (one of: dossier, material-lot)");
        return err.error();
    }
    const std::string kind = m["kind"];
    auto& kinds = seal_kinds();
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
        err.add("/kind", "'" + kind + "' is not a kind dvi seals (dossier, material-lot)");
        return err.error();
    }

    // 1. The schema, then what a schema cannot say.
    DVI_TRY(schema, schema_by_name(kind + "-manifest"));
    DVI_TRY(violations, schema_validate(*schema, m));
    for (auto& v : violations) err.add(v.pointer, v.message);
    if (!err.empty()) return err.error();
    std::vector<std::string> path_pointers;
    if (kind == "dossier") check_dossier(m, err, path_pointers);
    else check_material_lot(m, err, path_pointers);
    if (!err.empty()) return err.error();

    // 2. Every file: confined to the manifest's folder, present, readable.
    fs::path base = req.manifest.parent_path().empty() ? fs::path(".") : req.manifest.parent_path();
    std::vector<PendingFile> files;
    for (auto& ptr : path_pointers) {
        std::string rel = m.at(Json::json_pointer(ptr));
        auto real = util::resolve_confined(base, rel);
        if (!real) {
            err.add(ptr, real.error().message);
            continue;
        }
        std::string media = media_type_for(*real);
        auto parent = Json::json_pointer(ptr).parent_pointer();
        if (m.at(parent).contains("media_type")) media = m.at(parent)["media_type"];
        files.push_back({ptr, rel, *real, media});
    }
    if (!err.empty()) return err.error();

    // 3. Who signs, whether they may, and whether this was sealed before.
    DVI_TRY(roster, roster_load(ledger));
    DVI_TRY(signer, signer_for(roster, key));
    DVI_CHECK(roster.may_write(signer.id, kind));
    SealOutcome out;
    out.kind = kind;
    out.writer = signer.id;
    std::string index_path;
    if (kind == "dossier") {
        if (m["oem"] != signer.id.partner) {
            err.add("/oem", "is '" + m["oem"].get<std::string>() + "', but the signing key belongs to '" +
                                signer.id.partner + "'");
            return err.error(Errc::denied);
        }
        out.name = m["part_number"].get<std::string>() + "@" + m["revision"].get<std::string>();
        index_path = "index/dossiers/" + out.name;
    } else {
        if (m["supplier"] != signer.id.partner) {
            err.add("/supplier", "is '" + m["supplier"].get<std::string>() + "', but the signing key belongs to '" +
                                     signer.id.partner + "'");
            return err.error(Errc::denied);
        }
        out.name = m["lot"];
        index_path = "index/material-lots/" + signer.id.partner + "/" + out.name;
    }
    DVI_TRY(existing, ledger.find_chain_files(index_path));
    if (!existing.empty())
        return make_error(Errc::invalid_input,
                          kind + " " + out.name + " is already sealed as " + existing.front().second,
                          kind == "dossier" ? "seal a new revision (with 'supersedes')" : "give the lot a new id");
    out.artifacts = files.size();
    for (auto& f : files) out.bytes += fs::file_size(f.real);
    if (req.mode == SealMode::check_only) return out;

    // 4. Store the files (streamed), then append the record.
    std::map<std::string, ArtifactRef> stored;  // by manifest pointer
    std::vector<ArtifactRef> artifacts;
    for (auto& f : files) {
        DVI_TRY(a, ledger.store_artifact(f.real, f.media_type));
        stored.emplace(f.pointer, a);
        artifacts.push_back(a);
    }
    Json body = m;
    body.erase("kind");
    for (auto& f : files) {
        auto ptr = Json::json_pointer(f.pointer);
        auto& a = stored.at(f.pointer);
        if (f.pointer.rfind("/files/", 0) == 0) {
            Json& entry = body.at(ptr.parent_pointer());
            Json art = artifact_json(f.relative, a);
            for (auto it = art.begin(); it != art.end(); ++it) entry[it.key()] = it.value();
        } else {
            body.at(ptr) = artifact_json(f.relative, a);
        }
    }
    AppendRequest ar;
    ar.key = &key;
    ar.writer = signer.id;
    ar.time = req.time;
    ar.summary = kind + ": " + out.name;
    ar.artifacts = artifacts;
    ar.build = [&](const ChainPosition& pos) -> Result<Json> {
        // Under the writer lock: a concurrent seal of the same name by this writer lost.
        DVI_TRY(again, ledger.read_chain_file(signer.id, index_path));
        if (again)
            return make_error(Errc::invalid_input, kind + " " + out.name + " is already sealed as " + *again);
        Json rec = record_header(kind, signer, req.time, pos.seq);
        rec.update(body);
        DVI_CHECK(validate_record(rec));
        return rec;
    };
    ar.derive = [&](const std::string& id, const Json&) -> Result<std::vector<TreeFile>> {
        return std::vector<TreeFile>{{index_path, id}};
    };
    DVI_TRY(appended, ledger.append(ar));
    out.record_id = appended.record_id;
    out.commit = appended.commit;
    out.seq = appended.seq;
    out.notices = appended.notices;
    return out;
}

}  // namespace dvi
