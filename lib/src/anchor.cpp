#include "dvi/anchor.hpp"

#include <algorithm>
#include <set>

#include "dvi/record.hpp"
#include "dvi/tsp.hpp"
#include "dvi/util/encoding.hpp"
#include "dvi/util/fs.hpp"
#include "dvi/util/time.hpp"

namespace dvi {

namespace {

constexpr const char* k_token_type = "application/timestamp-reply";
constexpr std::uintmax_t k_max_reply = 1 << 20;

std::string digest_id(const crypto::Digest256& d) { return "sha256:" + util::hex_encode(d.data(), d.size()); }

std::int64_t created_of(const Json& rec) {
    return util::parse_time(rec.value("created", std::string())).value_or(0);
}

// The time a co-signature proves: both partners' clocks had passed it.
std::int64_t cosign_time(const Json& witnessed, std::int64_t cosigner_time) {
    return std::min(created_of(witnessed), cosigner_time);
}

// Nonces compare as numbers: a TSA echoes the integer, without leading zeros.
bool same_nonce(const std::string& a, const std::string& b) {
    auto trim = [](const std::string& h) { return h.substr(std::min(h.find_first_not_of('0'), h.size())); };
    return trim(a) == trim(b);
}

Result<std::string> random_nonce() {
    DVI_TRY(bytes, crypto::random_bytes(8));
    return util::hex_encode(bytes.data(), bytes.size());
}

// The anchors of `w`'s own chain (the records/anchor/ fan-out of its head tree).
Result<std::vector<StoredRecord>> own_anchors(const Ledger& ledger, const WriterId& w) {
    DVI_TRY(all, ledger.records_of_type("anchor"));
    std::vector<StoredRecord> out;
    for (auto& [chain, id] : all) {
        if (chain != w) continue;
        DVI_TRY(rec, ledger.find_record(id, "anchor"));
        out.push_back(std::move(rec));
    }
    return out;
}

// Every head an anchor names must be in this ledger's chain of that name: the same
// commit at the same position, with the same record. Else the heads describe a chain
// we do not hold — an equivocation or a fork — and the anchor is refused.
Status check_heads_here(const Ledger& ledger, const StoredRecord& anchor) {
    for (auto& h : anchor.json["heads"]) {
        std::string chain = h["chain"];
        auto slash = chain.find('/');
        WriterId w{chain.substr(0, slash), chain.substr(slash + 1)};
        std::string commit = h["commit"];
        auto denied = [&](const std::string& why) {
            return make_error(Errc::denied,
                              "anchor " + anchor.id + " names commit " + commit + " of chain '" + chain +
                                  "' at position " + std::to_string(h["seq"].get<std::int64_t>()) + ", " + why,
                              "the chain may have forked: run 'dvi sync' with its writer, then 'dvi audit'");
        };
        DVI_TRY(inside, ledger.chain_contains(w, commit));
        if (!inside) return denied("which is not in that chain here");
        DVI_TRY(at, ledger.head_at(w, commit));
        if (at.seq != h["seq"].get<std::int64_t>() || at.record_id != h["record"].get<std::string>())
            return denied("but that commit holds record " + at.record_id + " at position " + std::to_string(at.seq));
    }
    return {};
}

struct Evidence {
    Json body;
    std::vector<ArtifactRef> artifacts;
    std::optional<std::int64_t> time;
    std::string tsa_subject;
};

// An RFC 3161 reply verified for `digest` and stored: the evidence of an anchor.
Result<Evidence> token_evidence(Ledger& ledger, const Roster& roster, const std::string& reply,
                                const crypto::Digest256& digest, const std::string& nonce) {
    DVI_TRY(info, tsp::verify_reply(reply, digest, nonce, roster.tsa_certificates()));
    DVI_TRY(token, ledger.store_artifact_bytes(reply, k_token_type));
    Evidence e;
    e.body = {{"kind", "rfc3161"},
              {"token", {{"sha256", token.sha256}, {"size", token.size}, {"media_type", k_token_type}}},
              {"time", util::format_rfc3339(info.time)},
              {"tsa", info.signer_sha256},
              {"serial", info.serial_hex.empty() ? "0" : info.serial_hex}};
    e.artifacts.push_back(token);
    e.time = info.time;
    e.tsa_subject = info.signer_subject;
    return e;
}

Status need_tsa(const Roster& roster) {
    if (!roster.tsa_certificates().empty()) return {};
    return make_error(Errc::invalid_input, "the consortium trusts no time-stamping authority yet",
                      "an authority adds one with 'dvi roster trust-tsa <cert.pem>'");
}

}  // namespace

Json anchor_heads(const std::vector<ChainHead>& heads) {
    std::vector<const ChainHead*> sorted;
    for (auto& h : heads) sorted.push_back(&h);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->writer.str() < b->writer.str(); });
    Json out = Json::array();
    for (auto* h : sorted)
        out.push_back({{"chain", h->writer.str()}, {"seq", h->seq}, {"commit", h->commit}, {"record", h->record_id}});
    return out;
}

crypto::Digest256 anchor_digest(const Json& heads) { return crypto::sha256(canonical_dump(heads).value()); }

Result<AnchorOutcome> anchor(Ledger& ledger, const crypto::PrivateKey& key, const AnchorRequest& req) {
    DVI_TRY(roster, roster_load(ledger));
    DVI_TRY(signer, signer_for(roster, key));
    DVI_CHECK(roster.may_write(signer.id, "anchor"));

    AnchorOutcome out;
    Json heads;
    Evidence ev;
    std::string request_der;
    switch (req.evidence) {
    case AnchorEvidence::none:
    case AnchorEvidence::tsa:
    case AnchorEvidence::request: {
        DVI_TRY(all, ledger.chains());
        heads = anchor_heads(all);
        auto digest = anchor_digest(heads);
        if (req.evidence == AnchorEvidence::none) {
            ev.body = {{"kind", "none"}};
            break;
        }
        DVI_CHECK(need_tsa(roster));
        DVI_TRY(nonce, random_nonce());
        DVI_TRY(tsq, tsp::make_request(digest, nonce));
        if (req.evidence == AnchorEvidence::request) {
            ev.body = {{"kind", "rfc3161-request"}, {"nonce", nonce}};
            request_der = std::move(tsq);
            break;
        }
        auto reply = tsp::http_post({req.tsa_url, tsq, "application/timestamp-query", k_token_type,
                                     req.timeout_seconds, k_max_reply});
        if (!reply) {
            Error e = reply.error();
            e.hint = "no connection to the TSA? 'dvi anchor --request <file.tsq>' carries the request to it later";
            return e;
        }
        DVI_TRY(e, token_evidence(ledger, roster, *reply, digest, nonce));
        ev = std::move(e);
        break;
    }
    case AnchorEvidence::import: {
        DVI_TRY(reply, util::read_file(req.file, k_max_reply));
        auto info = tsp::read_reply(reply);
        if (!info) return make_error(info.error().code, util::quote(req.file) + ": " + info.error().message);
        DVI_TRY(mine, own_anchors(ledger, signer.id));
        const StoredRecord* pending = nullptr;
        for (auto& a : mine) {
            const Json& e = a.json["evidence"];
            if (e["kind"] == "rfc3161-request" && info->nonce_hex &&
                same_nonce(e["nonce"].get<std::string>(), *info->nonce_hex))
                pending = &a;
        }
        if (!pending)
            return make_error(Errc::bad_signature,
                              util::quote(req.file) + ": the reply answers a request this writer did not make (nonce " +
                                  info->nonce_hex.value_or("none") + ")",
                              "import a reply on the ledger of the writer whose 'dvi anchor --request' made its request");
        for (auto& a : mine)
            if (a.json["evidence"].value("request", "") == pending->id)
                return make_error(Errc::invalid_input,
                                  util::quote(req.file) + ": the reply to " + pending->id + " is already in anchor " + a.id);
        heads = pending->json["heads"];
        auto digest = anchor_digest(heads);
        auto e = token_evidence(ledger, roster, reply, digest, pending->json["evidence"]["nonce"]);
        if (!e) return make_error(e.error().code, util::quote(req.file) + ": " + e.error().message, e.error().hint);
        ev = std::move(*e);
        ev.body["request"] = pending->id;
        break;
    }
    case AnchorEvidence::cosign: {
        DVI_TRY(other, ledger.find_record(req.cosign));
        if (other.type != "anchor")
            return make_error(Errc::invalid_input, "record " + other.id + " is a " + other.type + ", not an anchor");
        const Json& e = other.json["evidence"];
        if (e["kind"] == "cosign")
            return make_error(Errc::invalid_input, "anchor " + other.id + " is itself a co-signature",
                              "co-sign the anchor it witnesses: " + e.value("anchor", std::string()));
        if (other.json["issuer"]["partner"] == signer.id.partner)
            return make_error(Errc::invalid_input, "anchor " + other.id + " is by partner '" + signer.id.partner +
                                                       "' itself: a co-signature must come from another partner");
        if (digest_id(anchor_digest(other.json["heads"])) != other.json["digest"])
            return make_error(Errc::bad_signature, "anchor " + other.id + " has a digest that does not match its heads");
        DVI_CHECK(check_heads_here(ledger, other));
        heads = other.json["heads"];
        ev.time = cosign_time(other.json, req.time);
        ev.body = {{"kind", "cosign"}, {"anchor", other.id}, {"time", util::format_rfc3339(*ev.time)}};
        break;
    }
    }

    out.digest = digest_id(anchor_digest(heads));
    out.time = ev.time;
    out.tsa_subject = ev.tsa_subject;

    // A request file is written before the anchor that waits for its reply, and removed
    // again if the anchor cannot be appended: never one without the other.
    if (req.evidence == AnchorEvidence::request) {
        DVI_CHECK(util::write_file_atomic(req.file, request_der, util::FileMode::public_0644, util::Overwrite::no));
        out.request_file = req.file.string();
    }
    RecordAppend r;
    r.type = "anchor";
    r.body = {{"heads", heads}, {"digest", out.digest}, {"evidence", ev.body}};
    r.time = req.time;
    r.artifacts = ev.artifacts;
    std::string kind = ev.body["kind"];
    r.summary = "anchor: " + std::to_string(heads.size()) + " chains" +
                (kind == "none" ? "" : kind == "rfc3161-request" ? ", time-stamp requested" : ", " + kind) +
                (ev.time ? " at " + util::format_rfc3339(*ev.time) : "");
    auto done = append_record(ledger, signer, r);
    if (!done) {
        if (req.evidence == AnchorEvidence::request) std::filesystem::remove(req.file);
        return done.error();
    }
    out.append = std::move(done->append);
    out.record = std::move(done->record);
    return out;
}

Result<std::optional<std::int64_t>> anchor_time(const Ledger& ledger, const Roster& roster, const StoredRecord& a) {
    const Json& rec = a.json;
    const Json& ev = rec["evidence"];
    std::string kind = ev.value("kind", "");
    if (kind != "rfc3161" && kind != "cosign") return std::optional<std::int64_t>();
    auto claimed = util::parse_time(ev.value("time", std::string()));
    auto bad = [&](const std::string& why) {
        return make_error(Errc::bad_signature, "anchor " + a.id + ": " + why);
    };
    if (!claimed) return bad("its evidence names no time");
    auto digest = anchor_digest(rec["heads"]);
    if (digest_id(digest) != rec.value("digest", "")) return bad("its digest does not match its heads");
    if (kind == "rfc3161") {
        DVI_TRY(token, ledger.read_artifact(ev["token"]["sha256"].get<std::string>()));
        auto info = tsp::verify_reply(token, digest, std::nullopt, roster.tsa_certificates());
        if (!info) return bad(info.error().message);
        if (info->time != *claimed) return bad("its token says " + util::format_rfc3339(info->time) + ", not " +
                                               ev["time"].get<std::string>());
        return std::optional<std::int64_t>(info->time);
    }
    auto witnessed = ledger.find_record(ev.value("anchor", std::string()), "anchor");
    if (!witnessed) return bad("the anchor it co-signs is not in this ledger");
    if (witnessed->type != "anchor" || witnessed->json["heads"] != rec["heads"])
        return bad("it does not confirm the heads of " + witnessed->id);
    if (witnessed->json["issuer"]["partner"] == rec["issuer"]["partner"])
        return bad("it co-signs an anchor of its own partner");
    if (cosign_time(witnessed->json, created_of(rec)) != *claimed) return bad("its time is not the earlier of the two");
    return std::optional<std::int64_t>(*claimed);
}

Result<std::optional<TrustedTime>> trusted_time(const Ledger& ledger, const Roster& roster) {
    DVI_TRY(heads, ledger.chains());
    // Each chain names the best-timed anchor it has seen; check the latest claim first
    // and fall back, so one bad anchor cannot raise (or remove) the floor.
    std::vector<std::pair<std::int64_t, std::string>> claims;
    std::set<std::string> ids;
    for (auto& h : heads)
        if (!h.anchor.empty() && h.anchor_time && ids.insert(h.anchor).second) claims.emplace_back(*h.anchor_time, h.anchor);
    std::sort(claims.rbegin(), claims.rend());
    for (auto& [claimed, id] : claims) {
        auto rec = ledger.find_record(id, "anchor");
        if (!rec || rec->type != "anchor") continue;
        auto t = anchor_time(ledger, roster, *rec);
        if (t && *t) return std::optional<TrustedTime>(TrustedTime{**t, id});
    }
    return std::optional<TrustedTime>();
}

}  // namespace dvi
