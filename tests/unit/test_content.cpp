// content: the Ed25519 -> X25519 conversion (libsodium's published vector), key wrapping
// for roster keys, and AES-256-GCM of artifacts (the GCM specification's test case 14).
#include <catch2/catch.hpp>

#include "dvi/content.hpp"
#include "dvi/util/encoding.hpp"

using namespace dvi;
using namespace dvi::crypto;

namespace {

PrivateKey fresh_key() {
    auto k = PrivateKey::generate();
    REQUIRE(k.ok());
    return std::move(k).value();
}

PrivateKey key_for_seed(const std::string& seed_hex) {
    auto der = util::hex_decode("302e020100300506032b657004220420" + seed_hex);
    REQUIRE(der);
    auto k = PrivateKey::from_pem(
        "-----BEGIN PRIVATE KEY-----\n" + util::base64_encode(*der, 64) + "\n-----END PRIVATE KEY-----\n", std::nullopt);
    REQUIRE(k.ok());
    return std::move(k).value();
}

ContentKey fresh_content_key() {
    auto k = ContentKey::generate();
    REQUIRE(k.ok());
    return *k;
}

std::string hex(const std::uint8_t* p, std::size_t n) { return util::hex_encode(p, n); }

}  // namespace

TEST_CASE("an Ed25519 public key converts to libsodium's X25519 key") {
    // libsodium test/default/ed25519_convert: the same seed, its Ed25519 and Curve25519 keys.
    auto key = key_for_seed("421151a459faeade3d247115f94aedae42318124095afabe4d1451a559faedee");
    CHECK(hex(key.public_key().raw.data(), 32) == "b5076a8474a832daee4dd5b4040983b6623b5f344aca57d4d6ee4baf3f259e6e");
    auto x = key.public_key().x25519();
    REQUIRE(x.ok());
    CHECK(hex(x->data(), 32) == "f1814f0e8ff1043d8a44d25babff3cedcae6c22c3edaa48f857ae70de2baae50");
}

TEST_CASE("X25519 agreement between converted keys is symmetric") {
    auto a = fresh_key(), b = fresh_key();
    auto ax = a.public_key().x25519(), bx = b.public_key().x25519();
    REQUIRE(ax.ok());
    REQUIRE(bx.ok());
    auto ab = a.x25519_agree(*bx), ba = b.x25519_agree(*ax);
    REQUIRE(ab.ok());
    REQUIRE(ba.ok());
    CHECK(*ab == *ba);
    CHECK(ab->size() == 32);
    // A low-order point (u = 0) gives an all-zero secret, which is refused.
    CHECK_FALSE(a.x25519_agree(std::array<std::uint8_t, 32>{}).ok());
}

TEST_CASE("the neutral point has no X25519 form") {
    PublicKey neutral;
    neutral.raw[0] = 1;  // y = 1
    auto x = neutral.x25519();
    REQUIRE_FALSE(x.ok());
    CHECK(x.error().code == Errc::crypto);
}

TEST_CASE("a content key wrapped for a writer opens with its key only") {
    auto cek = fresh_content_key();
    auto agent = fresh_key(), other = fresh_key();
    auto w = wrap_content_key(cek, agent.public_key(), "bureau7/s5-0412");
    REQUIRE(w.ok());
    CHECK(w->fingerprint == agent.public_key().fingerprint());
    auto back = unwrap_content_key(*w, agent);
    REQUIRE(back.ok());
    CHECK(back->bytes == cek.bytes);

    auto wrong = unwrap_content_key(*w, other);
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().code == Errc::bad_signature);

    auto tampered = *w;
    tampered.wrapped[3] ^= 1;
    CHECK(unwrap_content_key(tampered, agent).error().code == Errc::bad_signature);

    // Two wraps of one key differ (fresh ephemeral keys) and both open.
    auto w2 = wrap_content_key(cek, agent.public_key(), "bureau7/s5-0412");
    REQUIRE(w2.ok());
    CHECK(w2->ephemeral != w->ephemeral);
    CHECK(unwrap_content_key(*w2, agent)->bytes == cek.bytes);
}

TEST_CASE("a record's list of wrapped keys: JSON round trip and lookup by fingerprint") {
    auto cek = fresh_content_key();
    auto desk = fresh_key(), agent = fresh_key(), stranger = fresh_key();
    Json keys = Json::array();
    keys.push_back(wrap_content_key(cek, desk.public_key(), "acme/desk")->json());
    keys.push_back(wrap_content_key(cek, agent.public_key(), "bureau7/s5-0412")->json());
    CHECK(keys[1]["to"] == "bureau7/s5-0412");
    CHECK(keys[1]["key"] == agent.public_key().fingerprint());
    CHECK(util::base64_decode(keys[1]["wrapped"].get<std::string>())->size() == 48);

    auto opened = open_content_key(keys, agent, "licence x");
    REQUIRE(opened.ok());
    CHECK(opened->bytes == cek.bytes);
    auto none = open_content_key(keys, stranger, "licence x");
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().code == Errc::not_found);
    CHECK(none.error().message == "licence x carries no content key for the key " + stranger.public_key().fingerprint());

    Json bad = keys[1];
    bad["ephemeral"] = "AAAA";
    CHECK_FALSE(WrappedKey::from_json(bad).ok());
    bad.erase("ephemeral");
    CHECK_FALSE(WrappedKey::from_json(bad).ok());
}

TEST_CASE("AES-256-GCM: the specification's test case 14, streamed, and tamper detection") {
    ContentKey zero;
    std::uint8_t plain[16] = {};
    std::uint8_t ct[16];
    GcmEncryptor enc(zero, Nonce{});
    REQUIRE(enc.update(plain, 7, ct).ok());
    REQUIRE(enc.update(plain + 7, 9, ct + 7).ok());
    auto tag = enc.finish();
    REQUIRE(tag.ok());
    CHECK(hex(ct, 16) == "cea7403d4d606b6e074ec5d3baf39d18");
    CHECK(hex(tag->data(), 16) == "d0d1c8a799996bf0265b98b5d48ab919");

    std::string sealed(reinterpret_cast<char*>(ct), 16);
    sealed.append(reinterpret_cast<const char*>(tag->data()), 16);
    auto opened = gcm_open(zero, Nonce{}, sealed);
    REQUIRE(opened.ok());
    CHECK(*opened == std::string(16, '\0'));

    for (std::size_t i : {0u, 15u, 16u, 31u}) {
        std::string bad = sealed;
        bad[i] = static_cast<char>(bad[i] ^ 0x80);
        auto r = gcm_open(zero, Nonce{}, bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::bad_signature);
    }
    CHECK_FALSE(gcm_open(zero, Nonce{}, sealed.substr(0, 15)).ok());
    auto other = fresh_content_key();
    CHECK(gcm_open(other, Nonce{}, sealed).error().code == Errc::bad_signature);
}

TEST_CASE("the keyed digest of a plaintext: Python's HMAC and HKDF give the same, streamed or not") {
    ContentKey k;
    for (std::size_t i = 0; i < k.bytes.size(); ++i) k.bytes[i] = static_cast<std::uint8_t>(i);
    const std::string text = "G28 ; home all axes\n";
    // hmac.new(HKDF(SHA256, 32, salt=None, info=b"dvi/plaintext-mac@1").derive(bytes(range(32))), text, sha256)
    const std::string expected = "2021bdca3761ed366cd13b36032fca090a3d543de4fd8c6b614645198ffbbcef";
    auto once = plain_mac_hex(k, text);
    REQUIRE(once.ok());
    CHECK(*once == expected);
    PlainMac streamed(k);
    streamed.update(text.data(), 5);
    streamed.update(text.data() + 5, text.size() - 5);
    auto mac = streamed.finish();
    REQUIRE(mac.ok());
    CHECK(*mac == expected);
    ContentKey other = k;
    other.bytes[0] ^= 1;
    CHECK(*plain_mac_hex(other, text) != expected);
    CHECK(*plain_mac_hex(k, text + " ") != expected);
}

TEST_CASE("a Secret is wiped and its copies are impossible") {
    static_assert(!std::is_copy_constructible_v<Secret>);
    std::string s = "plaintext";
    wipe(s);
    CHECK(s.empty());
}
