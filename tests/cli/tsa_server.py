#!/usr/bin/env python3
"""A real RFC 3161 time-stamping authority for the tests: `openssl ts -reply` behind HTTP
on 127.0.0.1. Usage: tsa_server.py <dir> — <dir> holds tsa.cnf, tsa.key/tsa.pem (the
trusted TSA) and rogue.key/rogue.pem (one nobody trusts); the port is written to
<dir>/port. The TSA's clock is <dir>/time when that file exists (faketime), else now.

Paths: /tsa answers honestly; /other-data answers for other data; /untrusted signs with
the rogue TSA; /garbage returns bytes that are no reply; /tls serves the same over
https when <dir>/https.pem exists (started as a second server)."""
import http.server
import os
import ssl
import subprocess
import sys
import tempfile
import threading

DIR = sys.argv[1]


def reply(query: bytes, path: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        q = os.path.join(tmp, "q.tsq")
        r = os.path.join(tmp, "r.tsr")
        with open(q, "wb") as f:
            f.write(query)
        signer = "rogue" if path == "/untrusted" else "tsa"
        if path == "/other-data":
            subprocess.run(["openssl", "ts", "-query", "-digest", "00" * 32, "-sha256", "-no_nonce", "-cert",
                            "-out", q], check=True, capture_output=True)
        cmd = ["openssl", "ts", "-reply", "-config", os.path.join(DIR, "tsa.cnf"), "-queryfile", q,
               "-inkey", os.path.join(DIR, signer + ".key"), "-signer", os.path.join(DIR, signer + ".pem"),
               "-out", r]
        time_file = os.path.join(DIR, "time")
        if os.path.exists(time_file):
            with open(time_file) as f:
                cmd = ["faketime", "-f", f.read().strip()] + cmd  # -f: a stopped clock
        subprocess.run(cmd, check=True, capture_output=True)
        with open(r, "rb") as f:
            return f.read()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Type") != "application/timestamp-query":
            self.send_error(415)
            return
        out = b"this is not a time-stamp reply" if self.path == "/garbage" else reply(body, self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def serve(server):
    server.serve_forever()


plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
servers = [plain]
ports = [str(plain.server_address[1])]
https_pem = os.path.join(DIR, "https.pem")
if os.path.exists(https_pem):
    tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(https_pem, os.path.join(DIR, "https.key"))
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
    servers.append(tls)
    ports.append(str(tls.server_address[1]))
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(" ".join(ports) + "\n")
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
threads = [threading.Thread(target=serve, args=(s,), daemon=True) for s in servers]
for t in threads:
    t.start()
for t in threads:
    t.join()
