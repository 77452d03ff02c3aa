#!/usr/bin/env python3
"""An independent implementation of dvi's encrypted artifacts (dvi-records(5), "Encrypted
artifacts"), with Python's `cryptography` package, for the tests: it decrypts what dvi
sealed and wraps content keys that dvi must open.

  content_crypto.py decrypt <key.pem> <keys.json> <blob> <nonce-base64> <mac-hex>
      unwraps the content key the list holds for key.pem's public key, decrypts the blob
      (AES-256-GCM ciphertext || tag), checks the plaintext's keyed digest and writes the
      plaintext to stdout
  content_crypto.py rewrap <key.pem> <keys.json> <recipient.pub> <partner/writer> [--random]
      prints a list of wrapped keys holding, for the recipient, the content key key.pem
      unwraps (or a random one): what a licence's "keys" carry
"""
import base64
import hashlib
import hmac
import json
import os
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

P = 2**255 - 19
INFO = b"dvi/content-key@1"


def montgomery(ed_public: bytes) -> bytes:
    """The X25519 public key of an Ed25519 public key: u = (1 + y) / (1 - y) mod p."""
    y = int.from_bytes(ed_public, "little") & ((1 << 255) - 1)
    return ((1 + y) * pow(1 - y, P - 2, P) % P).to_bytes(32, "little")


def x25519_private(ed_key: ed25519.Ed25519PrivateKey) -> x25519.X25519PrivateKey:
    seed = ed_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    return x25519.X25519PrivateKey.from_private_bytes(hashlib.sha512(seed).digest()[:32])


def fingerprint(ed_public: bytes) -> str:
    blob = len(b"ssh-ed25519").to_bytes(4, "big") + b"ssh-ed25519" + len(ed_public).to_bytes(4, "big") + ed_public
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def plain_mac(content_key: bytes, plaintext: bytes) -> str:
    """HMAC-SHA256 under HKDF-SHA256(content key, no salt, info dvi/plaintext-mac@1)."""
    mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dvi/plaintext-mac@1").derive(content_key)
    return hmac.new(mac_key, plaintext, hashlib.sha256).hexdigest()


def kek(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=INFO).derive(shared)


def raw_public(key) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def unwrap(pem_path: str, keys_path: str) -> bytes:
    ed_key = serialization.load_pem_private_key(open(pem_path, "rb").read(), password=None)
    me = raw_public(ed_key.public_key())
    entry = next(k for k in json.load(open(keys_path)) if k["key"] == fingerprint(me))
    ephemeral = base64.b64decode(entry["ephemeral"])
    shared = x25519_private(ed_key).exchange(x25519.X25519PublicKey.from_public_bytes(ephemeral))
    return AESGCM(kek(shared, ephemeral, montgomery(me))).decrypt(bytes(12), base64.b64decode(entry["wrapped"]), None)


def wrap(content_key: bytes, recipient_line: str, to: str) -> dict:
    ed_public = base64.b64decode(recipient_line.split()[1])[-32:]
    recipient = montgomery(ed_public)
    eph = x25519.X25519PrivateKey.generate()
    ephemeral = raw_public(eph.public_key())
    shared = eph.exchange(x25519.X25519PublicKey.from_public_bytes(recipient))
    wrapped = AESGCM(kek(shared, ephemeral, recipient)).encrypt(bytes(12), content_key, None)
    return {"to": to, "key": fingerprint(ed_public), "ephemeral": base64.b64encode(ephemeral).decode(),
            "wrapped": base64.b64encode(wrapped).decode()}


def main() -> None:
    cmd = sys.argv[1]
    if cmd == "decrypt":
        pem, keys, blob, nonce, mac = sys.argv[2:7]
        content_key = unwrap(pem, keys)
        plain = AESGCM(content_key).decrypt(base64.b64decode(nonce), open(blob, "rb").read(), None)
        if plain_mac(content_key, plain) != mac:
            sys.exit("the plaintext's keyed digest differs from the record's")
        sys.stdout.buffer.write(plain)
    elif cmd == "rewrap":
        pem, keys, pub, to = sys.argv[2:6]
        content_key = os.urandom(32) if "--random" in sys.argv[6:] else unwrap(pem, keys)
        print(json.dumps([wrap(content_key, open(pub).read(), to)]))
    else:
        sys.exit(f"unknown command {cmd}")


main()
