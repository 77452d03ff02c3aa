// sshsig: SSH signatures in both directions against the real ssh-keygen -Y, and
// rejection of every kind of damage as Errc::bad_signature.
#include <catch2/catch.hpp>

#include "dvi/sshsig.hpp"
#include "dvi/util/encoding.hpp"
#include "helpers.hpp"

using namespace dvi;
using dvi_test::run;
using dvi_test::shq;
using dvi_test::TempDir;

namespace {

crypto::PrivateKey fresh_key() {
    auto k = crypto::PrivateKey::generate();
    REQUIRE(k.ok());
    return std::move(k).value();
}

const std::string k_message =
    "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
    "author A U Thor <a@example.com> 1795428900 +0000\n"
    "committer A U Thor <a@example.com> 1795428900 +0000\n\nseal: part 42\n";

// Runs ssh-keygen -Y verify on `armored` over `message`; returns its result.
dvi_test::CommandResult keygen_verify(const TempDir& t, const crypto::PublicKey& pk, const std::string& armored,
                                      const std::string& message, const std::string& ns = "git") {
    dvi_test::write_text(t / "allowed_signers", "dvi-test namespaces=\"git\" " + pk.openssh() + "\n");
    dvi_test::write_text(t / "sig.sig", armored);
    dvi_test::write_text(t / "message", message);
    return run("ssh-keygen -Y verify -f " + shq(t / "allowed_signers") + " -I dvi-test -n " + shq(ns) + " -s " +
               shq(t / "sig.sig") + " < " + shq(t / "message"));
}

// Signs `message` with the real ssh-keygen using `key` exported in OpenSSH format.
std::string keygen_sign(const TempDir& t, const crypto::PrivateKey& key, const std::string& message,
                        const std::string& ns = "git", const std::string& extra = "") {
    auto text = key.to_openssh("dvi-test");
    REQUIRE(text.ok());
    dvi_test::write_text(t / "id", *text, 0600);
    dvi_test::write_text(t / "message", message);
    auto r = run("ssh-keygen -Y sign -f " + shq(t / "id") + " -n " + shq(ns) + " " + extra + " < " +
                     shq(t / "message") + " 2> " + shq(t / "stderr"),
                 false);
    INFO(r.output << dvi_test::read_text(t / "stderr"));
    REQUIRE(r.status == 0);
    REQUIRE_THAT(r.output, Catch::StartsWith("-----BEGIN SSH SIGNATURE-----"));
    return r.output;
}

// The binary SSHSIG blob inside an armored signature.
util::Bytes unarmor(const std::string& armored) {
    auto b = armored.find('\n');
    auto e = armored.find("-----END");
    auto blob = util::base64_decode(armored.substr(b + 1, e - b - 1));
    REQUIRE(blob);
    return *blob;
}
std::string armor(const util::Bytes& blob) {
    return "-----BEGIN SSH SIGNATURE-----\n" + util::base64_encode(blob, 70) + "\n-----END SSH SIGNATURE-----";
}

void require_bad_signature(const Result<crypto::PublicKey>& r, const char* what) {
    INFO(what);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::bad_signature);
}

}  // namespace

TEST_CASE("sign produces OpenSSH's armor with 70-column lines and no final newline") {
    auto key = fresh_key();
    auto sig = sshsig::sign(key, k_message, sshsig::k_git_namespace);
    REQUIRE(sig.ok());
    CHECK_THAT(*sig, Catch::StartsWith("-----BEGIN SSH SIGNATURE-----\nU1NIU0lH") &&
                         Catch::EndsWith("\n-----END SSH SIGNATURE-----"));
    auto blob = unarmor(*sig);
    CHECK(util::to_string(util::Bytes(blob.begin(), blob.begin() + 6)) == "SSHSIG");
    std::size_t start = 0;
    while (start < sig->size()) {
        auto nl = sig->find('\n', start);
        if (nl == std::string::npos) nl = sig->size();
        CHECK(nl - start <= 70);
        start = nl + 1;
    }
    auto back = sshsig::verify(*sig, k_message, "git");
    REQUIRE(back.ok());
    CHECK(*back == key.public_key());
}

TEST_CASE("our signature verifies with ssh-keygen -Y verify, and damaged ones do not") {
    TempDir t;
    auto key = fresh_key();
    auto sig = sshsig::sign(key, k_message, "git");
    REQUIRE(sig.ok());

    auto good = keygen_verify(t, key.public_key(), *sig, k_message);
    INFO(good.output);
    CHECK(good.status == 0);
    CHECK_THAT(good.output, Catch::Contains("Good \"git\" signature for dvi-test") &&
                                Catch::Contains(key.public_key().fingerprint()));

    // The same check must fail when it should, or the success above proves nothing.
    CHECK(keygen_verify(t, key.public_key(), *sig, k_message + "x").status != 0);
    auto other_ns = sshsig::sign(key, k_message, "file");
    REQUIRE(other_ns.ok());
    CHECK(keygen_verify(t, key.public_key(), *other_ns, k_message).status != 0);
    CHECK(keygen_verify(t, fresh_key().public_key(), *sig, k_message).status != 0);

    // Empty and binary messages.
    auto empty = sshsig::sign(key, "", "git");
    REQUIRE(empty.ok());
    CHECK(keygen_verify(t, key.public_key(), *empty, "").status == 0);
    std::string bin("\0\x01\xff\n\r", 5);
    auto bsig = sshsig::sign(key, bin, "git");
    REQUIRE(bsig.ok());
    CHECK(keygen_verify(t, key.public_key(), *bsig, bin).status == 0);
}

TEST_CASE("a signature made by ssh-keygen -Y sign verifies with sshsig::verify and names the key") {
    TempDir t;
    auto key = fresh_key();
    auto armored = keygen_sign(t, key, k_message);
    auto r = sshsig::verify(armored, k_message, "git");
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    CHECK(*r == key.public_key());

    // Also with the sha256 hash and in another namespace.
    auto sha256 = keygen_sign(t, key, k_message, "file", "-O hashalg=sha256");
    auto r256 = sshsig::verify(sha256, k_message, "file");
    REQUIRE(r256.ok());
    CHECK(*r256 == key.public_key());
    require_bad_signature(sshsig::verify(sha256, k_message, "git"), "namespace file is not git");

    require_bad_signature(sshsig::verify(armored, k_message + " ", "git"), "altered message");
}

TEST_CASE("sshsig::verify rejects wrong namespaces and altered messages") {
    auto key = fresh_key();
    auto sig = sshsig::sign(key, k_message, "git").value();
    REQUIRE(sshsig::verify(sig, k_message, "git").ok());

    auto ns = sshsig::verify(sig, k_message, "file");
    require_bad_signature(ns, "wrong namespace");
    CHECK_THAT(ns.error().message, Catch::Contains("namespace"));
    require_bad_signature(sshsig::verify(sig, k_message, ""), "empty namespace");
    require_bad_signature(sshsig::verify(sig, k_message, "gi"), "prefix of the namespace");

    auto altered = k_message;
    altered[0] = 'T';
    auto a = sshsig::verify(sig, altered, "git");
    require_bad_signature(a, "altered message");
    CHECK_THAT(a.error().message, Catch::Contains("does not verify"));
    require_bad_signature(sshsig::verify(sig, "", "git"), "empty message");
    require_bad_signature(sshsig::verify(sig, k_message.substr(0, k_message.size() - 1), "git"), "truncated message");
}

TEST_CASE("sshsig::verify rejects truncated and garbled armor") {
    auto key = fresh_key();
    const auto sig = sshsig::sign(key, k_message, "git").value();
    REQUIRE(sshsig::verify(sig, k_message, "git").ok());

    require_bad_signature(sshsig::verify("", k_message, "git"), "empty");
    require_bad_signature(sshsig::verify("hello", k_message, "git"), "no armor");
    require_bad_signature(sshsig::verify(sig.substr(0, sig.find("-----END")), k_message, "git"), "no END line");
    require_bad_signature(sshsig::verify(sig.substr(sig.find('\n') + 1), k_message, "git"), "no BEGIN line");
    auto end = sig.find("-----END");
    auto body_start = sig.find('\n') + 1;
    // Half of the base64 body, cut on a 4-character boundary so it still decodes.
    auto half = sig.substr(0, body_start + 40) + "\n" + sig.substr(end);
    require_bad_signature(sshsig::verify(half, k_message, "git"), "truncated body");
    // Body cut mid-quantum.
    require_bad_signature(sshsig::verify(sig.substr(0, end - 2) + "\n" + sig.substr(end), k_message, "git"),
                          "body not a multiple of 4");
    // Characters outside the alphabet.
    auto garbled = sig;
    garbled[body_start + 10] = '!';
    require_bad_signature(sshsig::verify(garbled, k_message, "git"), "garbled character");
    // END before BEGIN.
    require_bad_signature(sshsig::verify("-----END SSH SIGNATURE-----\n" + sig.substr(0, end), k_message, "git"),
                          "END before BEGIN");

    // Valid base64 but different bytes: change one character in each region of the blob
    // (not in the last quantum, whose final symbol has bits that encode nothing).
    for (std::size_t off = 0; off + 5 < end - body_start; off += 7) {
        auto s = sig;
        char& c = s[body_start + off];
        if (c == '\n' || c == '=') continue;
        c = c == 'A' ? 'B' : 'A';
        INFO("changed character " << off);
        require_bad_signature(sshsig::verify(s, k_message, "git"), "flipped character");
    }
}

TEST_CASE("sshsig::verify checks the signature against the key embedded in it") {
    auto key = fresh_key();
    auto other = fresh_key();
    auto blob = unarmor(sshsig::sign(key, k_message, "git").value());
    // Replace the embedded public key (after "SSHSIG", version and the blob's length).
    auto pub = key.public_key().ssh_blob();
    auto other_pub = other.public_key().ssh_blob();
    REQUIRE(std::equal(pub.begin(), pub.end(), blob.begin() + 6 + 4 + 4));
    std::copy(other_pub.begin(), other_pub.end(), blob.begin() + 6 + 4 + 4);
    require_bad_signature(sshsig::verify(armor(blob), k_message, "git"), "key swapped");

    // Version 2 is unknown.
    auto v2 = unarmor(sshsig::sign(key, k_message, "git").value());
    v2[9] = 2;
    auto r = sshsig::verify(armor(v2), k_message, "git");
    require_bad_signature(r, "version 2");
    CHECK_THAT(r.error().message, Catch::Contains("version"));

    // Trailing bytes after the blob are not ignored.
    auto longer = unarmor(sshsig::sign(key, k_message, "git").value());
    longer.push_back(0);
    require_bad_signature(sshsig::verify(armor(longer), k_message, "git"), "trailing byte");

    // Re-armoring the untouched blob still verifies (so the failures above are the edits).
    auto same = unarmor(sshsig::sign(key, k_message, "git").value());
    auto ok = sshsig::verify(armor(same), k_message, "git");
    REQUIRE(ok.ok());
    CHECK(*ok == key.public_key());
}
