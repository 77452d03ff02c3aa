#include "dvi/seal.hpp"

#include <map>
#include <set>

#include "dvi/license.hpp"
#include "dvi/print.hpp"
#include "dvi/record.hpp"
#include "dvi/roster.hpp"
#include "dvi/schema.hpp"
#include "dvi/util/encoding.hpp"
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
    Error error(Errc code = Errc::invalid_input, std::string hint = {}) const {
        std::string msg;
        for (std::size_t i = 0; i < m_lines.size(); ++i) msg += (i ? "\n" : "") + m_lines[i];
        return make_error(code, msg, std::move(hint));
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
        // One file however it is spelt: "./model/x.stl" and "model//x.stl" are "model/x.stl".
        auto [it, fresh] = file_paths.emplace(std::filesystem::path(p).lexically_normal().string(), i);
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

void check_inspection(const Json& m, ManifestError&, std::vector<std::string>& path_pointers) {
    if (m.contains("report")) path_pointers.push_back("/report");
}

// How one artifact was encrypted: under which of the dossier's keys, with which nonce.
struct Sealing {
    std::string key;  // "design" or "recipe"
    crypto::Nonce nonce{};
};

Json artifact_json(const std::string& relative, const ArtifactRef& a, const std::optional<Sealing>& sealing) {
    Json j{{"path", relative}, {"sha256", a.sha256}, {"size", a.size}, {"media_type", a.media_type}};
    if (sealing)
        j["encrypted"] = {{"alg", "A256GCM"},
                          {"key", sealing->key},
                          {"nonce", util::base64_encode(sealing->nonce.data(), sealing->nonce.size())},
                          {"mac", a.plain_mac},
                          {"size", a.plain_size}};
    return j;
}

// The recipes' files get their own key, the only one licences pass on: a printer agent
// reads the G-code it prints, not the OEM's model or source.
std::string key_for_pointer(const std::string& pointer) {
    return pointer.rfind("/recipes/", 0) == 0 ? "recipe" : "design";
}

// Which of a dossier's files its `encryption` section encrypts (by manifest pointer).
std::set<std::string> encrypted_pointers(const Json& m) {
    std::set<std::string> out;
    if (!m.contains("encryption")) return out;
    const Json& e = m["encryption"];
    Json roles = e.value("files", Json::array({"model", "source"}));
    for (std::size_t i = 0; i < m["files"].size(); ++i)
        if (std::find(roles.begin(), roles.end(), m["files"][i]["role"]) != roles.end())
            out.insert("/files/" + std::to_string(i) + "/path");
    if (e.value("recipes", true))
        for (std::size_t i = 0; i < m["recipes"].size(); ++i) {
            out.insert("/recipes/" + std::to_string(i) + "/profile");
            out.insert("/recipes/" + std::to_string(i) + "/gcode");
        }
    return out;
}

}  // namespace

const std::vector<std::string>& seal_kinds() {
    static const std::vector<std::string> k{"dossier", "material-lot", "deviation", "inspection"};
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
        err.add("/kind", "is missing (one of: dossier, material-lot, deviation, inspection)");
        return err.error();
    }
    const std::string kind = m["kind"];
    auto& kinds = seal_kinds();
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
        err.add("/kind", "'" + kind + "' is not a kind dvi seals (dossier, material-lot, deviation, inspection)");
        return err.error();
    }

    // 1. The schema, then what a schema cannot say.
    DVI_TRY(schema, schema_by_name(kind + "-manifest"));
    DVI_TRY(violations, schema_validate(*schema, m));
    for (auto& v : violations) err.add(v.pointer, v.message);
    if (!err.empty()) return err.error(Errc::invalid_input, "the " + kind + " manifest's format: schemas/" + kind + "-manifest.schema.json, dvi-seal(1)");
    std::vector<std::string> path_pointers;
    if (kind == "dossier") check_dossier(m, err, path_pointers);
    else if (kind == "material-lot") check_material_lot(m, err, path_pointers);
    else if (kind == "inspection") check_inspection(m, err, path_pointers);
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
    // What the record refers to, resolved to ids; what makes it unique; what it indexes.
    Json body = m;
    body.erase("kind");
    std::string unique_path;                   // refused when any chain has it
    std::vector<std::string> index_dirs;       // <dir>/<hex of the new id> = id
    std::vector<std::string> index_files;      // <path> = id
    // An inspection that gives units back: the marker that it was done (once per print, or
    // once per part under a licence that counts parts), the licence, how many.
    std::string refund_marker, refund_license;
    std::vector<std::string> refunded_if;  // markers any of which means it was done already
    std::int64_t refund_units = 0;
    auto lookup_error = [&](const std::string& ptr, const Error& e) {
        err.add(ptr, e.message);
        return err.error(e.code == Errc::not_found ? Errc::invalid_input : e.code);
    };
    if (kind == "dossier") {
        if (m["oem"] != signer.id.partner) {
            err.add("/oem", "is '" + m["oem"].get<std::string>() + "', but the signing key belongs to '" +
                                signer.id.partner + "'");
            return err.error(Errc::denied);
        }
        out.name = m["part_number"].get<std::string>() + "@" + m["revision"].get<std::string>();
        unique_path = "index/dossiers/" + out.name;
        if (m.contains("supersedes")) {
            std::string old = m["part_number"].get<std::string>() + "@" + m["supersedes"].get<std::string>();
            DVI_TRY(prior, ledger.find_chain_files("index/dossiers/" + old));
            if (prior.empty()) {
                err.add("/supersedes", "names '" + old + "', which is not sealed in this ledger");
                return err.error();
            }
            DVI_TRY(prior_rec, ledger.find_record(prior.front().second));
            if (prior_rec.json.value("oem", "") != signer.id.partner) {
                err.add("/supersedes", "'" + old + "' belongs to OEM '" + prior_rec.json.value("oem", "") +
                                           "'; only it may supersede it");
                return err.error(Errc::denied);
            }
            DVI_TRY(already, ledger.find_chain_files("index/superseded/" + old));
            if (!already.empty()) {
                err.add("/supersedes", "'" + old + "' is already superseded by " + already.front().second);
                return err.error();
            }
            index_files.push_back("index/superseded/" + old);
            out.supersedes = old;
        }
    } else if (kind == "material-lot") {
        if (m["supplier"] != signer.id.partner) {
            err.add("/supplier", "is '" + m["supplier"].get<std::string>() + "', but the signing key belongs to '" +
                                     signer.id.partner + "'");
            return err.error(Errc::denied);
        }
        out.name = m["lot"];
        unique_path = "index/material-lots/" + signer.id.partner + "/" + out.name;
    } else if (kind == "deviation") {
        auto dossier = find_typed(ledger, m["dossier"].get<std::string>(), "dossier");
        if (!dossier) return lookup_error("/dossier", dossier.error());
        if (dossier->json.value("oem", "") != signer.id.partner) {
            err.add("/dossier", "belongs to OEM '" + dossier->json.value("oem", "") +
                                    "'; only it may concede deviations from it");
            return err.error(Errc::denied);
        }
        auto lot = find_material_lot(ledger, m["material_lot"].get<std::string>());
        if (!lot) return lookup_error("/material_lot", lot.error());
        const Json& specs = dossier->json["materials"]["specs"];
        if (std::find(specs.begin(), specs.end(), lot->json["material"]["spec"]) == specs.end()) {
            err.add("/material_lot", "is '" + lot->json["material"].value("spec", "") +
                                         "', a material the dossier does not accept; a deviation concedes a lot's "
                                         "status, not its material");
            return err.error();
        }
        DVI_TRY(dossier_revoked, revocation_of(ledger, dossier->id));
        if (dossier_revoked) {
            err.add("/dossier", "was revoked by " + *dossier_revoked);
            return err.error();
        }
        std::string to = m["to"];
        WriterId holder{to.substr(0, to.find('/')), to.substr(to.find('/') + 1)};
        if (!roster.writer(holder)) {
            err.add("/to", "'" + to + "' is not a writer in the roster");
            return err.error();
        }
        if (auto may = roster.may_write(holder, "print"); !may) {
            err.add("/to", "'" + to + "' cannot print: " + may.error().message);
            return err.error();
        }
        body["dossier"] = dossier->id;
        body["material_lot"] = lot->id;
        body["to"] = {{"partner", holder.partner}, {"writer", holder.writer}};
        out.name = "lot " + lot->json.value("lot", "") + " for " + to;
        index_dirs.push_back("index/deviations/" + dossier->id.substr(7) + "-" + lot->id.substr(7));
    } else {  // inspection
        auto print = find_typed(ledger, m["print"].get<std::string>(), "print");
        if (!print) return lookup_error("/print", print.error());
        const Json& P = print->json;
        if (P.value("decision", "") != "allowed") {
            err.add("/print", "is a refused print; only an allowed print made a part to inspect");
            return err.error();
        }
        // The partner that printed inspects its parts; anyone else needs the inspector role.
        const Json* me = roster.partner(signer.id.partner);
        bool inspector = me && std::find((*me)["roles"].begin(), (*me)["roles"].end(), Json("inspector")) != (*me)["roles"].end();
        if (P["issuer"].value("partner", "") != signer.id.partner && !inspector) {
            err.add("/print", "was printed by '" + P["issuer"].value("partner", "") +
                                  "'; only it or an inspector may inspect its parts");
            return err.error(Errc::denied);
        }
        for (std::size_t i = 0; i < m["measurements"].size(); ++i)
            if (m["result"] == "pass" && m["measurements"][i]["result"] == "fail")
                err.add("/measurements/" + std::to_string(i) + "/result",
                        "is 'fail', so the inspection's result cannot be 'pass'");
        if (P.contains("serials") && std::find(P["serials"].begin(), P["serials"].end(), m["serial"]) == P["serials"].end()) {
            err.add("/serial", "'" + m["serial"].get<std::string>() + "' is not a serial of that print (" +
                                   P["serials"].dump() + ")");
            return err.error();
        }
        DVI_TRY(dossier, ledger.find_record(P["dossier"].get<std::string>()));
        std::set<std::string> ids;
        for (auto& a : dossier.json["acceptance"]) ids.insert(a.value("id", ""));
        for (std::size_t i = 0; i < m["measurements"].size(); ++i) {
            std::string id = m["measurements"][i]["id"];
            if (!ids.count(id))
                err.add("/measurements/" + std::to_string(i) + "/id",
                        "'" + id + "' is not a characteristic of the dossier's acceptance plan");
        }
        if (!err.empty()) return err.error();
        body["print"] = print->id;
        body["dossier"] = dossier.id;
        out.name = m["serial"].get<std::string>() + " " + m["result"].get<std::string>();
        index_dirs.push_back("index/inspections/" + print->id.substr(7));
        // Under a licence whose failed jobs do not count, a failure gives units back when
        // the printer agent that made the print records it: a job its units, once; under a
        // licence that counts parts, each failed part its unit, once per serial.
        WriterId printer{P["issuer"].value("partner", ""), P["issuer"].value("writer", "")};
        if (m["result"] == "fail" && printer == signer.id && P.contains("license")) {
            DVI_TRY(lic, ledger.find_record(P["license"].get<std::string>()));
            if (!lic.json.value("count_failed", true)) {
                const std::string job_marker = "state/refunds/" + print->id.substr(7);
                refund_license = lic.id;
                if (lic.json.value("unit", "") == "part") {
                    refund_marker = job_marker + "-" + crypto::sha256_hex(m["serial"].get<std::string>());
                    refunded_if = {refund_marker, job_marker};  // the job's marker: every part given back
                    refund_units = std::min<std::int64_t>(1, P.value("units", std::int64_t{0}));
                } else {
                    refund_marker = job_marker;
                    refunded_if = {job_marker};
                    refund_units = P.value("units", std::int64_t{0});
                }
            }
        }
    }
    // An encrypted dossier: its files' content key, wrapped for the sealing writer and the
    // recipients the manifest names.
    const std::set<std::string> encrypt = kind == "dossier" ? encrypted_pointers(m) : std::set<std::string>{};
    std::vector<Holder> recipients{Holder{signer.id.partner, signer.id.writer}};
    if (kind == "dossier" && m.contains("encryption")) {
        const Json& named = m["encryption"].value("recipients", Json::array());
        for (std::size_t i = 0; i < named.size(); ++i) {
            const std::string ptr = "/encryption/recipients/" + std::to_string(i);
            auto h = Holder::parse(named[i].get<std::string>());
            if (!h) {
                err.add(ptr, h.error().message);
                continue;
            }
            if (auto writers = holder_writers(roster, {*h}); !writers) err.add(ptr, writers.error().message);
            else recipients.push_back(*h);
        }
        if (encrypt.empty()) err.add("/encryption", "encrypts nothing: no file has one of its roles and 'recipes' is false");
        if (!err.empty()) return err.error();
    }
    if (!unique_path.empty()) {
        DVI_TRY(existing, ledger.find_chain_files(unique_path));
        if (!existing.empty())
            return make_error(Errc::invalid_input,
                              kind + " " + out.name + " is already sealed as " + existing.front().second,
                              kind == "dossier" ? "seal a new revision (with 'supersedes')" : "give the lot a new id");
    }
    out.artifacts = files.size();
    for (auto& f : files) out.bytes += fs::file_size(f.real);
    out.encrypted = encrypt.size();
    if (!encrypt.empty()) {
        DVI_TRY(holders, holder_writers(roster, recipients));
        out.key_holders = holders;
    }
    // An encrypted file must not also be sealed in clear under another entry.
    for (auto& f : files)
        for (auto& g : files)
            if (encrypt.count(f.pointer) && !encrypt.count(g.pointer) && f.real == g.real)
                err.add(g.pointer, "names '" + g.relative + "', which is also sealed encrypted (" +
                                       pointer_to_field(f.pointer) + "); it would be stored in clear too");
    if (!err.empty()) return err.error();
    if (req.mode == SealMode::check_only) return out;

    // 4. Store the files (streamed), then append the record.
    std::map<std::string, ArtifactRef> stored;  // by manifest pointer
    std::map<std::string, Sealing> sealings;  // of the encrypted ones
    std::vector<ArtifactRef> artifacts;
    std::map<std::string, crypto::ContentKey> content_keys;  // "design", "recipe": those in use
    if (!encrypt.empty()) {
        body["encryption"] = {{"alg", "A256GCM"}, {"key_wrap", "X25519-HKDF-SHA256-A256GCM"}};
        for (auto& p : encrypt) {
            std::string which = key_for_pointer(p);
            if (content_keys.count(which)) continue;
            DVI_TRY(k, crypto::ContentKey::generate());
            content_keys.emplace(which, k);
            DVI_TRY(wrapped, wrap_for_holders(roster, recipients, k));
            body["encryption"][which + "_keys"] = wrapped;
        }
    }
    std::uint64_t before = 0;
    for (auto& f : files) {
        std::function<void(std::uint64_t)> on_bytes;
        if (req.progress) on_bytes = [&](std::uint64_t n) { req.progress(before + n, out.bytes); };
        std::optional<ArtifactEncryption> enc;
        if (encrypt.count(f.pointer)) {
            // A fresh random nonce per file under its key: 96 bits, far from colliding.
            DVI_TRY(r, crypto::random_bytes(12));
            Sealing sealing{key_for_pointer(f.pointer), {}};
            std::copy(r.begin(), r.end(), sealing.nonce.begin());
            enc.emplace();
            enc->key = &content_keys.at(sealing.key);
            enc->nonce = sealing.nonce;
            sealings.emplace(f.pointer, sealing);
        }
        DVI_TRY(a, ledger.store_artifact(f.real, f.media_type, on_bytes, enc ? &*enc : nullptr));
        before += enc ? a.plain_size : a.size;
        stored.emplace(f.pointer, a);
        artifacts.push_back(a);
    }
    for (auto& f : files) {
        auto ptr = Json::json_pointer(f.pointer);
        auto& a = stored.at(f.pointer);
        std::optional<Sealing> nonce;
        if (auto it = sealings.find(f.pointer); it != sealings.end()) nonce = it->second;
        if (f.pointer.rfind("/files/", 0) == 0) {
            Json& entry = body.at(ptr.parent_pointer());
            Json art = artifact_json(f.relative, a, nonce);
            for (auto it = art.begin(); it != art.end(); ++it) entry[it.key()] = it.value();
        } else {
            body.at(ptr) = artifact_json(f.relative, a, nonce);
        }
    }
    RecordAppend ar;
    ar.type = kind;
    ar.body = body;
    ar.time = req.time;
    ar.summary = kind + ": " + out.name;
    ar.artifacts = artifacts;
    ar.recheck = [&](const ChainPosition&) -> Status {
        // Under the writer lock: a concurrent seal of the same name by this writer lost.
        if (unique_path.empty()) return {};
        DVI_TRY(again, ledger.read_chain_file(signer.id, unique_path));
        if (again) return make_error(Errc::invalid_input, kind + " " + out.name + " is already sealed as " + *again);
        return {};
    };
    ar.derive = [&](const std::string& id, const Json&) -> Result<std::vector<TreeFile>> {
        std::vector<TreeFile> out_files;
        if (!unique_path.empty()) out_files.push_back({unique_path, id});
        for (auto& f : index_files) out_files.push_back({f, id});
        for (auto& d : index_dirs) out_files.push_back({d + "/" + id.substr(7), id});
        if (!refund_marker.empty()) {
            // Under the writer lock: the counters are this chain's own.
            bool done = false;
            for (auto& marker : refunded_if) {
                DVI_TRY(found, ledger.read_chain_file(signer.id, marker));
                done = done || found.has_value();
            }
            if (!done) {
                DVI_TRY(used, usage_of(ledger, signer.id, refund_license));
                out_files.push_back({usage_path(refund_license),
                                     canonical_dump(Json{{"used", std::max<std::int64_t>(0, used - refund_units)}}).value()});
                out_files.push_back({refund_marker, id});
            }
        }
        return out_files;
    };
    DVI_TRY(done, append_record(ledger, signer, ar));
    out.record_id = done.append.record_id;
    out.commit = done.append.commit;
    out.seq = done.append.seq;
    out.notices = done.append.notices;
    return out;
}

}  // namespace dvi
