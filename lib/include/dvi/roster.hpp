// The consortium's roster: partners, their roles, writers (signing keys), key usages and
// devices. It changes only through roster records signed by an authority; each one
// names the previous (prev, version), and the state after it is kept as roster.json in
// the authority's chain tree, so the current roster is read without a history walk.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dvi/canonical.hpp"
#include "dvi/crypto.hpp"
#include "dvi/ledger.hpp"
#include "dvi/result.hpp"

namespace dvi {

// The roles of dvi-records(5) and, for each, the record types its writers may append.
const std::vector<std::string>& all_roles();
const std::vector<std::string>& all_record_types();
std::vector<std::string> record_types_of_role(const std::string& role);

class Roster {
public:
    Roster() = default;
    explicit Roster(Json state) : m_state(std::move(state)) {}

    const Json& state() const { return m_state; }
    std::string consortium() const { return m_state.value("consortium", ""); }
    std::string genesis() const { return m_state.value("genesis", ""); }
    std::string head() const { return m_state.value("head", ""); }
    std::int64_t version() const { return m_state.value("version", std::int64_t{0}); }

    const Json* partner(const std::string& id) const;
    const Json* writer(const WriterId& w) const;
    // The writer whose key has this fingerprint, revoked or not.
    std::optional<WriterId> writer_by_fingerprint(const std::string& fingerprint) const;
    Result<crypto::PublicKey> key_of(const WriterId& w) const;
    // Whether `w` may append a record of `type` now: known, not revoked, and its roles
    // (narrowed by its key usages) allow the type. Errc::denied says why not.
    Status may_write(const WriterId& w, const std::string& type) const;
    // Whether the record of `type` at position `seq` of `w`'s chain was allowed: as
    // may_write, but a revocation only forbids positions after its cut-point.
    Status may_have_written(const WriterId& w, const std::string& type, std::int64_t seq) const;

    // The DER certificates of the time-stamping authorities (or their CAs) the consortium
    // trusts (roster action trust-tsa): RFC 3161 tokens must chain to one of them.
    std::vector<std::string> tsa_certificates() const;

    // Applies one roster record (already validated) and returns the state after it.
    Result<Roster> apply(const std::string& record_id, const Json& record) const;

private:
    // Whether the roles of `w`'s partner, narrowed by its key usages, include `type`.
    Status role_allows(const WriterId& w, const std::string& type) const;

    Json m_state = Json::object();
};

// The current roster: the highest version among the roster.json files of all chains,
// checked against the pinned genesis (config dvi.genesis) and the signature of the
// chain head that holds it. not_found when the ledger has no roster yet.
Result<Roster> roster_load(const Ledger& ledger);

// "<partner>/<writer> namespaces=\"git\" ssh-ed25519 AAAA…" per key, for git's
// gpg.ssh.allowedSignersFile and `ssh-keygen -Y verify -f`. Revoked keys are kept: they
// signed history that must still verify; `dvi audit` judges what they signed after.
std::string allowed_signers(const Roster& roster);

}  // namespace dvi
