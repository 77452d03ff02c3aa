// crypto: digests, Ed25519 keys in PKCS#8 PEM and OpenSSH form, signatures. Interop is
// checked against the real openssl and ssh-keygen binaries.
#include <catch2/catch.hpp>

#include <thread>

#include "dvi/crypto.hpp"
#include "dvi/util/encoding.hpp"
#include "helpers.hpp"

using namespace dvi;
using namespace dvi::crypto;
using dvi_test::run;
using dvi_test::shq;
using dvi_test::TempDir;

namespace {

PrivateKey fresh_key() {
    auto k = PrivateKey::generate();
    REQUIRE(k.ok());
    return std::move(k).value();
}

std::string hex(const std::array<std::uint8_t, 32>& a) { return util::hex_encode(a.data(), a.size()); }

// A PKCS#8 PEM for a raw Ed25519 seed (RFC 8410 structure).
std::string pem_for_seed(const std::string& seed_hex) {
    auto der = util::hex_decode("302e020100300506032b657004220420" + seed_hex);
    REQUIRE(der);
    return "-----BEGIN PRIVATE KEY-----\n" + util::base64_encode(*der, 64) + "\n-----END PRIVATE KEY-----\n";
}

// The raw 32-byte public key openssl derives from a PEM private key, as hex; empty if
// openssl refuses the key.
std::string openssl_public_hex(const std::filesystem::path& pem, const std::string& passin = "") {
    auto der = pem.parent_path() / "pub.der";
    std::filesystem::remove(der);
    auto r = run("openssl pkey -in " + shq(pem) + (passin.empty() ? "" : " -passin " + shq("pass:" + passin)) +
                 " -pubout -outform DER -out " + shq(der));
    if (r.status != 0) return "";
    auto bytes = dvi_test::read_text(der);
    REQUIRE(bytes.size() == 44);  // SubjectPublicKeyInfo: 12-byte prefix, 32-byte key
    return util::hex_encode(util::to_bytes(bytes.substr(12)));
}

}  // namespace

// ---- digests ----

TEST_CASE("sha256 and sha512 match the FIPS 180 'abc' vectors, incrementally too") {
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(util::hex_encode(sha512("abc")) ==
          "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
          "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");

    std::string data(100000, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 % 251);
    Sha256 h;
    h.update(data.data(), 1);
    h.update(data.data() + 1, 4095);
    h.update(data.data() + 4096, data.size() - 4096);
    auto d = h.finish();
    CHECK(util::hex_encode(d.data(), d.size()) == sha256_hex(data));
}

// ---- key generation and PEM ----

TEST_CASE("generate makes distinct keys that sign and verify") {
    auto a = fresh_key();
    auto b = fresh_key();
    CHECK_FALSE(a.public_key() == b.public_key());
    CHECK(hex(a.public_key().raw) != std::string(64, '0'));

    auto sig = a.sign("hello");
    REQUIRE(sig.ok());
    CHECK(sig->size() == 64);
    CHECK(verify(a.public_key(), "hello", *sig));
    CHECK_FALSE(verify(b.public_key(), "hello", *sig));
}

TEST_CASE("Ed25519 signing matches RFC 8032 test vector 1") {
    auto key = PrivateKey::from_pem(pem_for_seed("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
                                    std::nullopt);
    REQUIRE(key.ok());
    CHECK(hex(key->public_key().raw) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    auto sig = key->sign("");
    REQUIRE(sig.ok());
    CHECK(util::hex_encode(*sig) ==
          "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
          "d25bf5f0595bbe24655141438e7a100b");
    CHECK(verify(key->public_key(), "", *sig));
}

TEST_CASE("PEM round trip without a passphrase keeps the key, and openssl reads it") {
    TempDir t;
    auto key = fresh_key();
    auto pem = key.to_pem(std::nullopt);
    REQUIRE(pem.ok());
    CHECK_THAT(*pem, Catch::StartsWith("-----BEGIN PRIVATE KEY-----\n"));
    CHECK_FALSE(is_encrypted_pem(*pem));

    auto back = PrivateKey::from_pem(*pem, std::nullopt);
    REQUIRE(back.ok());
    CHECK(back->public_key() == key.public_key());
    auto pem2 = back->to_pem(std::nullopt);
    REQUIRE(pem2.ok());
    CHECK(*pem2 == *pem);
    // The re-read key signs exactly as the original (Ed25519 is deterministic).
    CHECK(back->sign("m").value() == key.sign("m").value());

    // A passphrase given for an unencrypted key is simply not needed.
    CHECK(PrivateKey::from_pem(*pem, std::string("unused")).ok());

    dvi_test::write_text(t / "k.pem", *pem, 0600);
    CHECK(openssl_public_hex(t / "k.pem") == hex(key.public_key().raw));
}

TEST_CASE("PEM round trip with a passphrase; wrong or missing passphrase refused") {
    TempDir t;
    auto key = fresh_key();
    auto pem = key.to_pem(std::string("correct horse"));
    REQUIRE(pem.ok());
    CHECK_THAT(*pem, Catch::StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
    CHECK(is_encrypted_pem(*pem));

    auto back = PrivateKey::from_pem(*pem, std::string("correct horse"));
    REQUIRE(back.ok());
    CHECK(back->public_key() == key.public_key());

    auto wrong = PrivateKey::from_pem(*pem, std::string("correct hors"));
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().code == Errc::invalid_input);
    CHECK_THAT(wrong.error().message, Catch::Contains("wrong passphrase"));

    auto empty = PrivateKey::from_pem(*pem, std::string(""));
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().code == Errc::invalid_input);

    auto missing = PrivateKey::from_pem(*pem, std::nullopt);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == Errc::invalid_input);
    CHECK_THAT(missing.error().message, Catch::Contains("passphrase"));
    CHECK_THAT(missing.error().hint, Catch::Contains("DVI_KEY_PASSPHRASE"));

    // Real openssl decrypts it with the same passphrase (PKCS#8, AES-256-CBC) and not without.
    dvi_test::write_text(t / "k.pem", *pem, 0600);
    CHECK(openssl_public_hex(t / "k.pem", "correct horse") == hex(key.public_key().raw));
    CHECK(openssl_public_hex(t / "k.pem", "nope").empty());
    auto info = run("openssl asn1parse -in " + shq(t / "k.pem"));
    REQUIRE(info.status == 0);
    CHECK_THAT(info.output, Catch::Contains("PBES2") && Catch::Contains("PBKDF2") && Catch::Contains("aes-256-cbc"));
}

TEST_CASE("from_pem accepts an Ed25519 key made by openssl and refuses other key types") {
    TempDir t;
    REQUIRE(run("openssl genpkey -algorithm ed25519 -out " + shq(t / "ed.pem")).status == 0);
    auto ed = PrivateKey::from_pem(dvi_test::read_text(t / "ed.pem"), std::nullopt);
    REQUIRE(ed.ok());
    CHECK(hex(ed->public_key().raw) == openssl_public_hex(t / "ed.pem"));

    const std::pair<const char*, const char*> others[] = {
        {"EC", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256"},
        {"Ed448", "-algorithm ed448"},
        {"X25519", "-algorithm x25519"},
        {"RSA", "-algorithm RSA -pkeyopt rsa_keygen_bits:1024"},
    };
    for (const auto& [name, args] : others) {
        INFO(name);
        auto file = t / (std::string(name) + ".pem");
        REQUIRE(run(std::string("openssl genpkey ") + args + " -out " + shq(file)).status == 0);
        auto pem = dvi_test::read_text(file);
        REQUIRE_THAT(pem, Catch::Contains("BEGIN PRIVATE KEY"));
        auto r = PrivateKey::from_pem(pem, std::nullopt);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::invalid_input);
        CHECK_THAT(r.error().message, Catch::Contains("not an Ed25519 key"));
    }
}

TEST_CASE("from_pem refuses OpenSSH keys with a hint, and garbage") {
    auto key = fresh_key();
    auto ossh = key.to_openssh("c");
    REQUIRE(ossh.ok());
    auto r = PrivateKey::from_pem(*ossh, std::nullopt);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::invalid_input);
    CHECK_THAT(r.error().message, Catch::Contains("OpenSSH format"));
    CHECK_FALSE(r.error().hint.empty());

    for (const char* junk : {"", "hello", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}) {
        auto j = PrivateKey::from_pem(junk, std::nullopt);
        REQUIRE_FALSE(j.ok());
        CHECK(j.error().code == Errc::invalid_input);
    }
    // A PEM whose last byte was cut off.
    auto pem = key.to_pem(std::nullopt).value();
    auto cut = pem.substr(0, pem.find("-----END"));
    CHECK_FALSE(PrivateKey::from_pem(cut, std::nullopt).ok());
}

// ---- public keys ----

TEST_CASE("public key OpenSSH line round trips, with or without a comment") {
    auto key = fresh_key();
    const auto& pk = key.public_key();
    auto line = pk.openssh();
    CHECK_THAT(line, Catch::StartsWith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"));
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.size() == 12 + 68);  // 51-byte blob -> 68 base64 characters

    auto back = PublicKey::from_openssh(line);
    REQUIRE(back.ok());
    CHECK(*back == pk);
    auto with_comment = PublicKey::from_openssh(line + " alice@example");
    REQUIRE(with_comment.ok());
    CHECK(*with_comment == pk);

    auto blob = pk.ssh_blob();
    CHECK(blob.size() == 4 + 11 + 4 + 32);
    auto from_blob = PublicKey::from_ssh_blob(blob);
    REQUIRE(from_blob.ok());
    CHECK(*from_blob == pk);
}

TEST_CASE("public key parsing refuses other types and malformed blobs") {
    auto pk = fresh_key().public_key();
    auto b64 = pk.openssh().substr(12);

    auto rsa = PublicKey::from_openssh("ssh-rsa " + b64);
    REQUIRE_FALSE(rsa.ok());
    CHECK_THAT(rsa.error().message, Catch::Contains("unsupported key type 'ssh-rsa'"));

    CHECK_FALSE(PublicKey::from_openssh("ssh-ed25519").ok());
    CHECK_FALSE(PublicKey::from_openssh("").ok());
    CHECK_FALSE(PublicKey::from_openssh("ssh-ed25519 !!!!").ok());
    CHECK_FALSE(PublicKey::from_openssh("ssh-ed25519 " + b64.substr(0, 40)).ok());

    auto blob = pk.ssh_blob();
    auto longer = blob;
    longer.push_back(0);
    CHECK_FALSE(PublicKey::from_ssh_blob(longer).ok());
    auto shorter = blob;
    shorter.pop_back();
    CHECK_FALSE(PublicKey::from_ssh_blob(shorter).ok());
    CHECK_FALSE(PublicKey::from_ssh_blob({}).ok());
    // A blob that claims ssh-ed25519 but carries a 31-byte key.
    util::Bytes odd{0, 0, 0, 11};
    for (char c : std::string("ssh-ed25519")) odd.push_back(static_cast<std::uint8_t>(c));
    odd.insert(odd.end(), {0, 0, 0, 31});
    odd.insert(odd.end(), 31, 0x42);
    CHECK_FALSE(PublicKey::from_ssh_blob(odd).ok());
    // A blob of another type, in the ssh-ed25519 wrapper line.
    util::Bytes other{0, 0, 0, 11};
    for (char c : std::string("ssh-ed448xx")) other.push_back(static_cast<std::uint8_t>(c));
    other.insert(other.end(), {0, 0, 0, 32});
    other.insert(other.end(), 32, 0x42);
    auto r = PublicKey::from_openssh("ssh-ed25519 " + util::base64_encode(other));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("unsupported key type"));
}

TEST_CASE("fingerprint equals what ssh-keygen -l prints") {
    TempDir t;
    for (int i = 0; i < 3; ++i) {
        auto pk = fresh_key().public_key();
        dvi_test::write_text(t / "k.pub", pk.openssh() + " test@dvi\n");
        auto r = run("ssh-keygen -l -E sha256 -f " + shq(t / "k.pub"));
        INFO(r.output);
        REQUIRE(r.status == 0);
        // "256 SHA256:<43 chars> test@dvi (ED25519)"
        CHECK(r.output == "256 " + pk.fingerprint() + " test@dvi (ED25519)\n");
        CHECK(pk.fingerprint().size() == 7 + 43);
    }
}

TEST_CASE("to_openssh writes a key that ssh-keygen reads back to the same public key") {
    TempDir t;
    auto key = fresh_key();
    auto text = key.to_openssh("dvi test key");
    REQUIRE(text.ok());
    CHECK_THAT(*text, Catch::StartsWith("-----BEGIN OPENSSH PRIVATE KEY-----\n") &&
                          Catch::EndsWith("\n-----END OPENSSH PRIVATE KEY-----\n"));
    dvi_test::write_text(t / "id", *text, 0600);

    auto r = run("ssh-keygen -y -f " + shq(t / "id"), false);
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(dvi_test::trim(r.output) == key.public_key().openssh() + " dvi test key");
    auto parsed = PublicKey::from_openssh(dvi_test::trim(r.output));
    REQUIRE(parsed.ok());
    CHECK(*parsed == key.public_key());

    auto fp = run("ssh-keygen -l -f " + shq(t / "id"));
    REQUIRE(fp.status == 0);
    CHECK_THAT(fp.output, Catch::Contains(key.public_key().fingerprint()) && Catch::Contains("dvi test key"));

    // An empty comment is fine too.
    auto bare = key.to_openssh("");
    REQUIRE(bare.ok());
    dvi_test::write_text(t / "id2", *bare, 0600);
    auto r2 = run("ssh-keygen -y -f " + shq(t / "id2"), false);
    REQUIRE(r2.status == 0);
    CHECK_THAT(r2.output, Catch::StartsWith(key.public_key().openssh()));
}

// ---- signatures ----

TEST_CASE("verify keeps a context per key: no verdict leaks into the next one") {
    // 20 keys, more than the contexts a thread keeps, each verified in turn with good
    // and bad signatures interleaved: each verdict is its own, whatever came before.
    std::vector<PrivateKey> keys;
    for (int i = 0; i < 20; ++i) keys.push_back(fresh_key());
    for (int round = 0; round < 3; ++round)
        for (std::size_t i = 0; i < keys.size(); ++i) {
            std::string msg = "record " + std::to_string(round) + "/" + std::to_string(i);
            auto sig = keys[i].sign(msg).value();
            auto bad = sig;
            bad[10] ^= 0x40;
            INFO("round " << round << " key " << i);
            CHECK_FALSE(verify(keys[i].public_key(), msg, bad));
            CHECK(verify(keys[i].public_key(), msg, sig));
            CHECK_FALSE(verify(keys[(i + 1) % keys.size()].public_key(), msg, sig));
            CHECK(verify(keys[i].public_key(), msg, sig));
        }
    // And on another thread, with its own contexts.
    auto sig = keys[0].sign("m").value();
    bool other = false, other_bad = true;
    std::thread t([&] {
        other = verify(keys[0].public_key(), "m", sig);
        other_bad = verify(keys[1].public_key(), "m", sig);
    });
    t.join();
    CHECK(other);
    CHECK_FALSE(other_bad);
}

TEST_CASE("verify rejects tampered messages and signatures") {
    auto key = fresh_key();
    const std::string msg = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n";
    auto sig = key.sign(msg).value();
    REQUIRE(verify(key.public_key(), msg, sig));

    auto altered = msg;
    altered[5] ^= 1;
    CHECK_FALSE(verify(key.public_key(), altered, sig));
    CHECK_FALSE(verify(key.public_key(), msg + "\n", sig));
    CHECK_FALSE(verify(key.public_key(), msg.substr(1), sig));

    for (std::size_t pos : {0u, 1u, 31u, 32u, 63u}) {
        auto bad = sig;
        bad[pos] ^= 0x01;
        INFO("flipped byte " << pos);
        CHECK_FALSE(verify(key.public_key(), msg, bad));
    }
    auto shorter = sig;
    shorter.pop_back();
    CHECK_FALSE(verify(key.public_key(), msg, shorter));
    auto longer = sig;
    longer.push_back(0);
    CHECK_FALSE(verify(key.public_key(), msg, longer));
    CHECK_FALSE(verify(key.public_key(), msg, {}));
    CHECK_FALSE(verify(key.public_key(), msg, util::Bytes(64, 0)));

    auto other = key.public_key();
    other.raw[0] ^= 1;
    CHECK_FALSE(verify(other, msg, sig));

    // Binary messages with NUL bytes are signed whole.
    std::string bin("a\0b", 3);
    auto bsig = key.sign(bin).value();
    CHECK(verify(key.public_key(), bin, bsig));
    CHECK_FALSE(verify(key.public_key(), std::string("a\0c", 3), bsig));
}

TEST_CASE("random_bytes returns the requested number of fresh bytes") {
    auto a = random_bytes(32);
    auto b = random_bytes(32);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->size() == 32);
    CHECK(*a != *b);
    CHECK(random_bytes(0).value().empty());
}
