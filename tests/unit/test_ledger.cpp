// The ledger on a real repository: appends, lookups without history walks, commit
// checks, compare-and-swap retries and concurrent writers.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "dvi/ledger.hpp"
#include "dvi/util/time.hpp"
#include "helpers.hpp"

using namespace dvi;
using dvi_test::TempDir;
namespace fs = std::filesystem;

namespace {

const std::int64_t k_time = *util::parse_time("2026-11-23T10:00:00Z");

AppendRequest note(const crypto::PrivateKey& key, const WriterId& w, const std::string& text) {
    AppendRequest r;
    r.key = &key;
    r.writer = w;
    r.time = k_time;
    r.summary = "note: " + text;
    r.build = [w, text](const ChainPosition& pos) -> Result<Json> {
        return Json{{"type", "note"}, {"seq", pos.seq}, {"text", text},
                    {"issuer", {{"partner", w.partner}, {"writer", w.writer}}}};
    };
    return r;
}

}  // namespace

TEST_CASE("appends build one linear, signed chain whose tree is its index") {
    TempDir s;
    auto ledger = Ledger::create(s / "l");
    REQUIRE(ledger.ok());
    auto key = crypto::PrivateKey::generate().value();
    WriterId w{"acme", "desk"};
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        auto out = ledger->append(note(key, w, "n" + std::to_string(i)));
        REQUIRE(out.ok());
        CHECK(out->seq == i + 1);
        CHECK(out->attempts == 1);
        ids.push_back(out->record_id);
    }
    auto head = ledger->chain_head(w).value();
    REQUIRE(head.has_value());
    CHECK(head->seq == 3);
    CHECK(head->record_id == ids.back());
    auto commits = ledger->chain_commits(w).value();
    CHECK(commits.size() == 3);
    CHECK(commits.front() == head->commit);

    SECTION("lookups by id, by prefix and by type read the head tree") {
        auto full = ledger->find_record(ids[1]);
        REQUIRE(full.ok());
        CHECK(full->json["text"] == "n1");
        CHECK(record_id_of(full->bytes) == ids[1]);
        CHECK(ledger->find_record(ids[1].substr(7, 8)).value().id == ids[1]);
        CHECK(ledger->find_record(ids[1].substr(0, 15)).value().id == ids[1]);
        CHECK(ledger->find_record(ids[1].substr(7, 3)).error().code == Errc::invalid_input);
        CHECK(ledger->find_record("sha256:" + std::string(64, 'f')).error().code == Errc::not_found);
        CHECK(ledger->find_record("not-hex").error().code == Errc::invalid_input);
        // A type hint narrows the search first; a record of another type is still found,
        // so that the caller can say what the id names instead.
        CHECK(ledger->find_record(ids[1], "note").value().id == ids[1]);
        CHECK(ledger->find_record(ids[1].substr(7, 8), "note").value().id == ids[1]);
        CHECK(ledger->find_record(ids[1], "dossier").value().type == "note");
        CHECK(ledger->find_record("sha256:" + std::string(64, 'f'), "note").error().code == Errc::not_found);
        auto by_type = ledger->records_of_type("note").value();
        std::set<std::string> listed;
        for (auto& [chain, id] : by_type) listed.insert(id);
        CHECK(listed == std::set<std::string>(ids.begin(), ids.end()));
        CHECK(ledger->records_of_type("dossier").value().empty());
    }

    SECTION("each commit verifies with the writer's key and not with another") {
        for (auto& c : commits) {
            auto ok = ledger->check_commit(c, key.public_key()).value();
            CHECK(ok.problems.empty());
            CHECK(ok.signer == key.public_key().fingerprint());
        }
        auto other = crypto::PrivateKey::generate().value();
        auto bad = ledger->check_commit(commits[0], other.public_key()).value();
        REQUIRE(bad.problems.size() == 1);
        CHECK(bad.problems[0].find("not by the writer's key") != std::string::npos);
        auto rec = ledger->record_of_commit(commits[2]).value();
        CHECK(rec.id == ids[0]);
    }

    SECTION("the audit's one read of a commit gives its signature, trailer and chain.json") {
        for (std::size_t i = 0; i < commits.size(); ++i) {
            auto c = ledger->check_chain_commit(w, commits[i], key.public_key()).value();
            CHECK(c.check.problems.empty());
            CHECK(c.check.signer == key.public_key().fingerprint());
            CHECK(c.check.record_id == ids[commits.size() - 1 - i]);
            REQUIRE(c.head.ok());
            CHECK(c.head->seq == static_cast<std::int64_t>(commits.size() - i));
            CHECK(c.head->record_id == ids[commits.size() - 1 - i]);
            CHECK(c.head->commit == commits[i]);
        }
        auto other = crypto::PrivateKey::generate().value();
        auto c = ledger->check_chain_commit(w, commits[0], other.public_key()).value();
        CHECK(c.check.codes == std::vector<std::string>{"wrong-key"});
        // A signature the caller verified is taken as the key's; the other checks still run.
        auto v = ledger->check_chain_commit(w, commits[1], key.public_key(), Ledger::Signature::verified).value();
        CHECK(v.check.codes.empty());
        CHECK(v.check.signer == key.public_key().fingerprint());
        CHECK(v.check.record_id == ids[commits.size() - 2]);
        REQUIRE(v.head.ok());
        CHECK(v.head->seq == static_cast<std::int64_t>(commits.size() - 1));
    }

    SECTION("a commit's signature covers every byte but its own header") {
        // Variants of the head commit written with stock git: each must fail to verify,
        // or be read as unsigned, never pass.
        const auto git = "git -C " + dvi_test::shq(s / "l") + " ";
        auto raw = dvi_test::run(git + "cat-file commit " + commits[0], false);
        REQUIRE(raw.status == 0);
        auto forge = [&](const std::string& bytes) {
            dvi_test::write_text(s / "forged", bytes);
            auto r = dvi_test::run(git + "hash-object -t commit -w --literally " + dvi_test::shq(s / "forged"), false);
            REQUIRE(r.status == 0);
            return dvi_test::trim(r.output);
        };
        auto codes = [&](const std::string& oid) { return ledger->check_commit(oid, key.public_key()).value().codes; };
        // What the audit reads of a commit whose signature it has verified already.
        auto codes_verified = [&](const std::string& oid) {
            return ledger->check_chain_commit(w, oid, key.public_key(), Ledger::Signature::verified).value().check.codes;
        };
        const std::string& bytes = raw.output;
        auto sig_at = bytes.find("\ngpgsig ");
        auto sig_end = bytes.find("-----END SSH SIGNATURE-----\n", sig_at);
        REQUIRE(sig_at != std::string::npos);
        REQUIRE(sig_end != std::string::npos);
        sig_end += std::string("-----END SSH SIGNATURE-----\n").size();
        const std::string header = bytes.substr(sig_at + 1, sig_end - sig_at - 1);
        // Unchanged, it verifies (the round trip through git's own writer).
        CHECK(codes(forge(bytes)).empty());
        // One byte of the message's first line changed.
        std::string edited = bytes;
        edited[edited.find("\n\n") + 2] ^= 1;
        CHECK(codes(forge(edited)) == std::vector<std::string>{"bad-signature"});
        // The signature header twice.
        std::string twice = bytes.substr(0, sig_end) + header + bytes.substr(sig_end);
        CHECK(codes(forge(twice)) == std::vector<std::string>{"bad-signature"});
        // No header, and the signature's text moved into the message: unsigned.
        std::string moved = bytes.substr(0, sig_at + 1) + bytes.substr(sig_end) + header;
        auto m = codes(forge(moved));
        REQUIRE(!m.empty());
        CHECK(m.front() == "unsigned-commit");
        // A commit without a signature stays unsigned however the caller's check went.
        auto mv = codes_verified(forge(moved));
        REQUIRE(!mv.empty());
        CHECK(mv.front() == "unsigned-commit");
        // Not starting with its tree.
        auto tree_end = bytes.find('\n');
        std::string swapped = bytes.substr(tree_end + 1, sig_at - tree_end) + bytes.substr(0, tree_end + 1) + bytes.substr(sig_at + 1);
        CHECK(codes(forge(swapped)) == std::vector<std::string>{"bad-signature"});
        // No headers at all: nothing to check against.
        CHECK(codes(forge("\n" + bytes.substr(bytes.find("\n\n") + 2))) == std::vector<std::string>{"bad-signature"});
    }
}

TEST_CASE("a read-only handle lets go of its object store and reads on") {
    TempDir s;
    auto key = crypto::PrivateKey::generate().value();
    WriterId w{"acme", "desk"};
    std::vector<std::string> ids;
    {
        auto writer = Ledger::create(s / "l").value();
        for (int i = 0; i < 3; ++i) ids.push_back(writer.append(note(key, w, "n" + std::to_string(i))).value().record_id);
        // A handle that wrote keeps its store (its pending objects live there).
        CHECK_FALSE(writer.release_object_store());
        CHECK(writer.append(note(key, w, "after")).ok());
    }
    REQUIRE(dvi_test::run("git -C " + dvi_test::shq(s / "l") + " gc -q").status == 0);  // reads come from a pack
    auto reader = Ledger::open(s / "l").value();
    auto commits = reader.chain_commits(w).value();
    REQUIRE(commits.size() == 4);
    for (int round = 0; round < 2; ++round) {
        CHECK(reader.release_object_store());
        CHECK(reader.find_record(ids[1]).value().json["text"] == "n1");
        CHECK(reader.check_commit(commits[1], key.public_key()).value().problems.empty());
        CHECK(reader.chain_commits(w).value() == commits);
    }
}

namespace {
// Pack files this process still maps after they were deleted.
int deleted_packs_mapped() {
    std::ifstream maps("/proc/self/maps");
    int n = 0;
    for (std::string line; std::getline(maps, line);)
        if (line.find("/objects/pack/") != std::string::npos && line.find(" (deleted)") != std::string::npos) ++n;
    return n;
}
}  // namespace

TEST_CASE("a long-lived handle lets go of packs merged away, and of what a failed append left") {
    TempDir s;
    auto key = crypto::PrivateKey::generate().value();
    WriterId w{"acme", "desk"};
    auto agent = Ledger::create(s / "l").value();
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(agent.append(note(key, w, "n" + std::to_string(i))).value().record_id);
    auto gc = [&] { REQUIRE(dvi_test::run("git -C " + dvi_test::shq(s / "l") + " gc -q").status == 0); };
    gc();
    agent.refresh();
    CHECK(agent.find_record(ids[0]).value().json["text"] == "n0");  // through the pack
    ids.push_back(agent.append(note(key, w, "n3")).value().record_id);
    gc();  // another process merges: the pack the agent maps is deleted
    CHECK(agent.find_record(ids[1]).value().json["text"] == "n1");
    CHECK(deleted_packs_mapped() > 0);
    agent.refresh();
    CHECK(deleted_packs_mapped() == 0);
    CHECK(agent.find_record(ids[1]).value().json["text"] == "n1");

    // An append that fails after writing its blobs leaves them waiting in memory; the
    // next append after refresh() publishes only its own objects.
    auto loose = [&] {
        std::size_t n = 0;
        for (auto& e : fs::recursive_directory_iterator(s / "l" / "objects"))
            if (e.is_regular_file() && e.path().parent_path().filename().string().size() == 2) ++n;
        return n;
    };
    std::size_t before = loose();
    CHECK(agent.append(note(key, w, "n4")).ok());
    std::size_t one_append = loose() - before;
    auto bad = note(key, w, "never");
    bad.derive = [](const std::string&, const Json&) -> Result<std::vector<TreeFile>> {
        return std::vector<TreeFile>{{"state//x.json", "{}"}};  // not a path a tree can hold
    };
    REQUIRE_FALSE(agent.append(bad).ok());
    agent.refresh();
    before = loose();
    CHECK(agent.append(note(key, w, "n5")).ok());
    CHECK(loose() - before == one_append);
    CHECK(agent.chain_commits(w).value().size() == 6);
}

TEST_CASE("an ambiguous id prefix is refused and lists the candidates") {
    TempDir s;
    auto ledger = Ledger::create(s / "l").value();
    auto key = crypto::PrivateKey::generate().value();
    WriterId w{"acme", "desk"};
    // Find two texts whose records at seq 1 and 2 share a 4-digit id prefix.
    std::map<std::string, std::string> by_prefix;
    std::string first, second;
    for (int i = 0; first.empty(); ++i) {
        for (std::int64_t seq : {1, 2}) {
            Json rec{{"type", "note"}, {"seq", seq}, {"text", std::to_string(i)},
                     {"issuer", {{"partner", "acme"}, {"writer", "desk"}}}};
            std::string id = record_id_of(canonical_dump(rec).value());
            if (seq == 1) by_prefix.emplace(id.substr(7, 4), std::to_string(i));
            else if (auto it = by_prefix.find(id.substr(7, 4)); it != by_prefix.end() && it->second != std::to_string(i)) {
                first = it->second;
                second = std::to_string(i);
            }
        }
    }
    auto a = ledger.append(note(key, w, first)).value();
    auto b = ledger.append(note(key, w, second)).value();
    REQUIRE(a.record_id.substr(7, 4) == b.record_id.substr(7, 4));
    auto r = ledger.find_record(a.record_id.substr(7, 4));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::invalid_input);
    CHECK(r.error().message.find(a.record_id) != std::string::npos);
    CHECK(r.error().message.find(b.record_id) != std::string::npos);
    CHECK(ledger.find_record(a.record_id.substr(7, 12)).value().id == a.record_id);
}

TEST_CASE("a ref moved under an append makes it rebuild on the new head (compare-and-swap)") {
    TempDir s;
    auto path = s / "l";
    auto ledger = Ledger::create(path).value();
    auto key = crypto::PrivateKey::generate().value();
    WriterId w{"acme", "desk"};
    auto one = ledger.append(note(key, w, "one")).value();
    auto two = ledger.append(note(key, w, "two")).value();
    // On its first attempt the builder rewinds the ref to `one`, as another machine's
    // update would move it; the CAS then fails and the append starts over.
    auto req = note(key, w, "three");
    int calls = 0;
    auto inner = req.build;
    req.build = [&](const ChainPosition& pos) -> Result<Json> {
        if (calls++ == 0) {
            REQUIRE(dvi_test::run("git -C " + dvi_test::shq(path) + " update-ref " + w.ref() + " " + one.commit).status == 0);
        }
        return inner(pos);
    };
    auto three = ledger.append(req).value();
    CHECK(three.attempts == 2);
    CHECK(three.seq == 2);
    auto commits = ledger.chain_commits(w).value();
    REQUIRE(commits.size() == 2);
    CHECK(commits[1] == one.commit);
}

TEST_CASE("concurrent writers of one chain never fork it and lose nothing") {
    TempDir s;
    auto path = s / "l";
    REQUIRE(Ledger::create(path).ok());
    auto key = crypto::PrivateKey::generate().value();
    WriterId w{"bureau7", "s5"};
    constexpr int k_threads = 4, k_each = 10;
    std::vector<std::vector<std::string>> ids(k_threads);
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t)
        threads.emplace_back([&, t] {
            auto mine = Ledger::open(path).value();  // one repository handle per thread
            for (int i = 0; i < k_each; ++i) {
                auto out = mine.append(note(key, w, std::to_string(t) + "-" + std::to_string(i)));
                if (out) ids[static_cast<std::size_t>(t)].push_back(out->record_id);
            }
        });
    for (auto& th : threads) th.join();
    auto ledger = Ledger::open(path).value();
    CHECK(ledger.chain_head(w).value()->seq == k_threads * k_each);
    CHECK(ledger.chain_commits(w).value().size() == k_threads * k_each);
    for (auto& list : ids) {
        CHECK(list.size() == k_each);
        for (auto& id : list) CHECK(ledger.find_record(id).ok());
    }
}

TEST_CASE("artifacts are streamed into blobs under their SHA-256") {
    TempDir s;
    auto ledger = Ledger::create(s / "l").value();
    auto file = s / "part.stl";
    std::string body(3 * 1024 * 1024 + 17, '\0');
    for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7919 % 251);
    dvi_test::write_text(file, body);
    auto a = ledger.store_artifact(file, "model/stl").value();
    CHECK(a.size == 3 * 1024 * 1024 + 17);
    auto sum = dvi_test::run("sha256sum " + dvi_test::shq(file), false);
    REQUIRE(sum.status == 0);
    CHECK(a.sha256 == sum.output.substr(0, 64));
    CHECK(ledger.store_artifact(s / "missing", "model/stl").error().code == Errc::not_found);
}

TEST_CASE("written objects wait in memory until an append publishes them") {
    TempDir s;
    auto objects_on_disk = [&] {
        auto r = dvi_test::run("cd " + dvi_test::shq(s / "l") + " && find . -type f | sort", false);
        REQUIRE(r.status == 0);
        return r.output;
    };
    auto key = crypto::PrivateKey::generate().value();
    WriterId w{"acme", "desk"};
    std::string before;
    ArtifactRef a;
    {
        auto ledger = Ledger::create(s / "l").value();
        before = objects_on_disk();
        a = ledger.store_artifact_bytes("a small drawing\n", "text/plain").value();
        // Nowhere on disk until an append.
        CHECK(objects_on_disk() == before);
        CHECK(dvi_test::run("git -C " + dvi_test::shq(s / "l") + " cat-file -e " + a.blob_oid).status != 0);
    }
    // Dropped with the handle: the object store is as it was.
    CHECK(objects_on_disk() == before);

    auto ledger = Ledger::open(s / "l").value();
    a = ledger.store_artifact_bytes("a small drawing\n", "text/plain").value();
    // A streamed artifact over 1 MiB waits on disk in the private store, not in memory.
    std::string big(3 * 1024 * 1024 + 5, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 253);
    dvi_test::write_text(s / "model.3mf", big);
    auto b = ledger.store_artifact(s / "model.3mf", "model/3mf").value();
    auto staged = dvi_test::run("find " + dvi_test::shq(s / "l" / "dvi" / "stage") + " -path '*/objects/*' -type f", false);
    CHECK(staged.output.find(b.blob_oid.substr(2)) != std::string::npos);
    auto req = note(key, w, "with a drawing");
    req.artifacts = {a, b};
    REQUIRE(ledger.append(req).ok());
    // A second append through the same handle publishes only what is new.
    auto c = ledger.store_artifact_bytes("a second drawing\n", "text/plain").value();
    auto req2 = note(key, w, "with another");
    req2.artifacts = {c};
    REQUIRE(ledger.append(req2).ok());

    auto git = [&](const std::string& args) { return dvi_test::run("git -C " + dvi_test::shq(s / "l") + " " + args, false); };
    // Published as loose objects that stock git reads, nothing left in the private store.
    CHECK(git("cat-file -p " + a.blob_oid).output == "a small drawing\n");
    CHECK(git("cat-file -p " + c.blob_oid).output == "a second drawing\n");
    CHECK(git("cat-file -p " + b.blob_oid + " | cmp - " + dvi_test::shq(s / "model.3mf")).status == 0);
    auto fsck = dvi_test::run("git -C " + dvi_test::shq(s / "l") + " fsck --strict --no-dangling");
    INFO(fsck.output);
    CHECK(fsck.status == 0);
    auto stage = dvi_test::run("find " + dvi_test::shq(s / "l" / "dvi" / "stage") + " -type f", false);
    CHECK(stage.output.empty());
    // Exactly the objects the chain reaches: the drawings, the records, chain.json, the
    // trees and the commits, none left over.
    auto reachable = dvi_test::trim(git("rev-list --objects --all | wc -l").output);
    auto loose = dvi_test::trim(git("count-objects -v | sed -n 's/^count: //p'").output);
    CHECK(loose == reachable);
    CHECK(loose.size() >= 2);  // at least 10 objects
}
