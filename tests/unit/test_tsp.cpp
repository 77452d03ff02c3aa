// tsp: RFC 3161 requests read by the real `openssl ts`, replies made by `openssl ts
// -reply` verified (and refused when for other data, another nonce or an untrusted
// signer), and certificates classified.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "dvi/tsp.hpp"
#include "dvi/util/encoding.hpp"
#include "helpers.hpp"

using namespace dvi;
using dvi_test::run;
using dvi_test::shq;
using dvi_test::TempDir;

namespace {

std::string slurp(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void spit(const std::filesystem::path& p, const std::string& data) {
    std::ofstream f(p, std::ios::binary);
    f << data;
}

// A CA, a TSA certificate it issues, and a self-signed TSA nobody trusts.
struct Pki {
    TempDir dir{"dvi-tsp"};
    Pki() {
        std::string d = shq(dir.path());
        std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ";
        std::string script =
            "set -e; cd " + d + "; " +
            "openssl req -x509" + ec + "-keyout ca.key -out ca.pem -subj /CN=ca -days 30 "
            "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null; "
            "printf 'extendedKeyUsage=critical,timeStamping\\n' > ext; "
            "openssl req" + ec + "-keyout tsa.key -out tsa.csr -subj /CN=tsa 2>/dev/null; "
            "openssl x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out tsa.pem -days 30 "
            "-extfile ext 2>/dev/null; "
            "openssl req -x509" + ec + "-keyout rogue.key -out rogue.pem -subj /CN=rogue -days 30 "
            "-addext extendedKeyUsage=critical,timeStamping 2>/dev/null; "
            "printf '01\\n' > serial; "
            "printf '[tsa]\\ndefault_tsa=t\\n[t]\\nserial=" + (dir / "serial").string() +
            "\\nsigner_digest=sha256\\ndefault_policy=1.2.3.4\\ndigests=sha256\\n' > tsa.cnf";
        REQUIRE(run(script).status == 0);
    }
    // `openssl ts -reply` to `tsq`, signed by `who` (tsa or rogue).
    std::string reply(const std::string& tsq, const std::string& who = "tsa") {
        spit(dir / "q.tsq", tsq);
        auto r = run("cd " + shq(dir.path()) + " && openssl ts -reply -config tsa.cnf -queryfile q.tsq -inkey " +
                     who + ".key -signer " + who + ".pem -out r.tsr 2>&1");
        REQUIRE(r.status == 0);
        return slurp(dir / "r.tsr");
    }
    std::string der(const std::string& name) {
        auto r = run("openssl x509 -in " + shq(dir / (name + ".pem")) + " -outform DER -out " + shq(dir / "c.der"));
        REQUIRE(r.status == 0);
        return slurp(dir / "c.der");
    }
};

}  // namespace

TEST_CASE("a time-stamp request is what openssl ts reads: our digest, our nonce, certReq") {
    auto digest = crypto::sha256("heads");
    auto tsq = tsp::make_request(digest, "0a1b2c3d4e5f6071");
    REQUIRE(tsq.ok());
    TempDir t;
    spit(t / "q.tsq", *tsq);
    auto r = run("openssl ts -query -in " + shq(t / "q.tsq") + " -text");
    REQUIRE(r.status == 0);
    CHECK(r.output.find("Hash Algorithm: sha256") != std::string::npos);
    CHECK(r.output.find("Nonce: 0x0A1B2C3D4E5F6071") != std::string::npos);
    CHECK(r.output.find("Certificate required: yes") != std::string::npos);
    // openssl prints the imprint as a hex dump: "0000 - 5c 2a ..."
    CHECK(r.output.find("0000 - " + util::hex_encode(digest.data(), 1) + " " + util::hex_encode(digest.data() + 1, 1)) !=
          std::string::npos);
}

TEST_CASE("a reply from a trusted TSA verifies at its time; others are refused") {
    Pki pki;
    auto digest = crypto::sha256("heads");
    auto tsq = tsp::make_request(digest, "00ff00ff00ff00ff");
    REQUIRE(tsq.ok());
    std::string good = pki.reply(*tsq);
    std::vector<std::string> trust_ca{pki.der("ca")}, trust_leaf{pki.der("tsa")};

    auto ok = tsp::verify_reply(good, digest, std::string("00ff00ff00ff00ff"), trust_ca);
    REQUIRE(ok.ok());
    CHECK(ok->signer_subject == "CN=tsa");
    CHECK(ok->imprint_sha256);
    CHECK(ok->policy == "1.2.3.4");
    CHECK(tsp::verify_reply(good, digest, std::nullopt, trust_leaf).ok());  // the TSA's own certificate

    auto other = tsp::verify_reply(good, crypto::sha256("other"), std::nullopt, trust_ca);
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().code == Errc::bad_signature);
    CHECK(other.error().message.find("for other data") != std::string::npos);

    auto nonce = tsp::verify_reply(good, digest, std::string("1234"), trust_ca);
    REQUIRE_FALSE(nonce.ok());
    CHECK(nonce.error().message.find("answers another request") != std::string::npos);

    auto rogue = tsp::verify_reply(pki.reply(*tsq, "rogue"), digest, std::nullopt, trust_ca);
    REQUIRE_FALSE(rogue.ok());
    CHECK(rogue.error().code == Errc::bad_signature);
    CHECK(rogue.error().message.find("'CN=rogue' does not verify") != std::string::npos);

    auto none = tsp::verify_reply(good, digest, std::nullopt, {});
    REQUIRE_FALSE(none.ok());

    auto junk = tsp::read_reply("not DER");
    REQUIRE_FALSE(junk.ok());
    CHECK(junk.error().code == Errc::invalid_input);
    std::string truncated = good.substr(0, good.size() - 1);
    CHECK_FALSE(tsp::read_reply(truncated).ok());
    CHECK_FALSE(tsp::read_reply(good + "x").ok());
}

TEST_CASE("certificates: a CA, a TSA certificate, and neither") {
    Pki pki;
    auto ca = tsp::read_certificate(slurp(pki.dir / "ca.pem"));
    REQUIRE(ca.ok());
    CHECK(ca->is_ca);
    CHECK_FALSE(ca->time_stamping);
    CHECK(ca->subject == "CN=ca");
    auto tsa = tsp::read_certificate(pki.der("tsa"));  // DER too
    REQUIRE(tsa.ok());
    CHECK_FALSE(tsa->is_ca);
    CHECK(tsa->time_stamping);
    CHECK(tsa->sha256 == crypto::sha256_hex(tsa->der));
    CHECK(tsa->not_after > tsa->not_before);
    auto bad = tsp::read_certificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == Errc::invalid_input);
}
