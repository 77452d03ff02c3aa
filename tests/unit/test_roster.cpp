// The roster as a state machine: what each roster record does to the state, who may
// write what, and the allowed-signers file git reads.
#include <catch2/catch.hpp>

#include "dvi/roster.hpp"

using namespace dvi;

namespace {

std::string fake_id(char c) { return "sha256:" + std::string(64, c); }

Json genesis_record(const crypto::PublicKey& key) {
    return Json{{"action", "genesis"}, {"version", 1}, {"prev", nullptr}, {"consortium", "C"},
                {"partner", "acme"}, {"roles", {"authority", "oem"}},
                {"writer", {{"name", "desk"}, {"key", key.openssh()}}}};
}

Json admit(std::int64_t version, const std::string& prev, const std::string& partner, Json extra) {
    Json r{{"action", "admit"}, {"version", version}, {"prev", prev}, {"partner", partner}};
    r.update(extra);
    return r;
}

}  // namespace

TEST_CASE("genesis, admissions and revocations build the roster state") {
    auto acme = crypto::PrivateKey::generate().value();
    auto lab = crypto::PrivateKey::generate().value();
    auto s0 = Roster().apply(fake_id('a'), genesis_record(acme.public_key()));
    REQUIRE(s0.ok());
    CHECK(s0->genesis() == fake_id('a'));
    CHECK(s0->head() == fake_id('a'));
    CHECK(s0->version() == 1);
    CHECK(s0->writer_by_fingerprint(acme.public_key().fingerprint()) == WriterId{"acme", "desk"});

    auto s1 = s0->apply(fake_id('b'), admit(2, fake_id('a'), "polyfil",
                                           {{"roles", {"supplier"}},
                                            {"writer", {{"name", "lab"}, {"key", lab.public_key().openssh()}}}}));
    REQUIRE(s1.ok());
    CHECK(s1->version() == 2);
    CHECK(s1->key_of(WriterId{"polyfil", "lab"}).value() == lab.public_key());
    CHECK(s1->may_write(WriterId{"polyfil", "lab"}, "material-lot").ok());
    auto denied = s1->may_write(WriterId{"polyfil", "lab"}, "dossier");
    REQUIRE_FALSE(denied.ok());
    CHECK(denied.error().code == Errc::denied);
    CHECK(s1->may_write(WriterId{"acme", "desk"}, "dossier").ok());
    CHECK(s1->may_write(WriterId{"acme", "desk"}, "roster").ok());
    CHECK(s1->may_write(WriterId{"nobody", "x"}, "print").error().code == Errc::denied);

    SECTION("a record must amend the current head at the next version") {
        CHECK_FALSE(s1->apply(fake_id('c'), admit(3, fake_id('a'), "x", {{"roles", {"bureau"}}})).ok());
        CHECK_FALSE(s1->apply(fake_id('c'), admit(4, fake_id('b'), "x", {{"roles", {"bureau"}}})).ok());
        CHECK(s1->apply(fake_id('c'), admit(3, fake_id('b'), "x", {{"roles", {"bureau"}}})).ok());
        CHECK_FALSE(s1->apply(fake_id('c'), genesis_record(acme.public_key())).ok());
    }

    SECTION("a key belongs to one writer, a device to one partner") {
        auto dup = s1->apply(fake_id('c'), admit(3, fake_id('b'), "other",
                                                {{"roles", {"bureau"}},
                                                 {"writer", {{"name", "w"}, {"key", lab.public_key().openssh()}}}}));
        REQUIRE_FALSE(dup.ok());
        CHECK(dup.error().message.find("already belongs to 'polyfil/lab'") != std::string::npos);
        auto s2 = s1->apply(fake_id('c'), admit(3, fake_id('b'), "bureau7",
                                               {{"roles", {"bureau"}},
                                                {"devices", {{{"serial", "S5"}, {"model", "MINI"}}}}}))
                      .value();
        auto moved = s2.apply(fake_id('d'), admit(4, fake_id('c'), "other",
                                                  {{"roles", {"bureau"}},
                                                   {"devices", {{{"serial", "S5"}, {"model", "MINI"}}}}}));
        CHECK_FALSE(moved.ok());
    }

    SECTION("usages narrow a key to some of its roles' record types") {
        auto qa = crypto::PrivateKey::generate().value();
        auto s2 = s1->apply(fake_id('c'), admit(3, fake_id('b'), "polyfil",
                                               {{"roles", {"inspector"}},
                                                {"writer", {{"name", "qa"}, {"key", qa.public_key().openssh()},
                                                            {"usages", {"inspection"}}}}}))
                      .value();
        CHECK(s2.may_write(WriterId{"polyfil", "qa"}, "inspection").ok());
        CHECK_FALSE(s2.may_write(WriterId{"polyfil", "qa"}, "material-lot").ok());
        CHECK(s2.may_write(WriterId{"polyfil", "lab"}, "inspection").ok());  // roles add up per partner
        auto bad = s1->apply(fake_id('c'), admit(3, fake_id('b'), "polyfil",
                                                {{"writer", {{"name", "qa"}, {"key", qa.public_key().openssh()},
                                                             {"usages", {"roster"}}}}}));
        CHECK_FALSE(bad.ok());
    }

    SECTION("revoking a writer keeps its key (history still verifies) and records the cut") {
        Json rev{{"action", "revoke"}, {"version", 3}, {"prev", fake_id('b')}, {"partner", "polyfil"},
                 {"writer", "lab"}, {"reason", "lost"}, {"cut", {{"lab", 7}}}};
        auto s2 = s1->apply(fake_id('c'), rev).value();
        const Json* w = s2.writer(WriterId{"polyfil", "lab"});
        REQUIRE(w != nullptr);
        CHECK((*w)["revoked"]["after_seq"] == 7);
        CHECK((*w)["revoked"]["reason"] == "lost");
        CHECK(s2.key_of(WriterId{"polyfil", "lab"}).ok());
        auto no = s2.may_write(WriterId{"polyfil", "lab"}, "material-lot");
        REQUIRE_FALSE(no.ok());
        CHECK(no.error().message == "key of 'polyfil/lab' was revoked: lost");
        CHECK(allowed_signers(s2).find("polyfil/lab namespaces=\"git\" " + lab.public_key().openssh()) !=
              std::string::npos);
        // What it signed up to the cut stands; after it, nothing; and only its roles' types.
        CHECK(s2.may_have_written(WriterId{"polyfil", "lab"}, "material-lot", 7).ok());
        auto after = s2.may_have_written(WriterId{"polyfil", "lab"}, "material-lot", 8);
        REQUIRE_FALSE(after.ok());
        CHECK(after.error().message == "key of 'polyfil/lab' was revoked after position 7: lost");
        CHECK_FALSE(s2.may_have_written(WriterId{"polyfil", "lab"}, "dossier", 1).ok());
        CHECK_FALSE(s2.may_have_written(WriterId{"polyfil", "nobody"}, "material-lot", 1).ok());
    }
}

TEST_CASE("every role's record types are record types dvi knows") {
    for (auto& role : all_roles()) {
        auto types = record_types_of_role(role);
        CHECK_FALSE(types.empty());
        for (auto& t : types)
            CHECK(std::find(all_record_types().begin(), all_record_types().end(), t) != all_record_types().end());
    }
    CHECK(record_types_of_role("wizard").empty());
}
