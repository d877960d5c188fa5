#!/usr/bin/python3
# ocsp-mock-responder.py: a MOCK OCSP responder for libsiths' tests.
#
# It exists only because `openssl ocsp` (the real responder sithsenv runs on
# port 8888) cannot produce broken answers on demand. Nothing here is an OCSP
# server to copy: it answers every request the same way, chosen by the first
# path segment of the URL, whatever the certificate's real status.
#
#   /good        good, signed by the delegated responder, the request's nonce
#                copied (it does not read the CA database: rut is "good" too)
#   /nononce     as /good, without a nonce
#   /wrongnonce  as /good, with a nonce of other bytes
#   /badsig      as /good, but the signature is made with a key that is not
#                the responder's (the evil issuing CA's); responder ID and
#                attached certificate are the real responder's
#   /expired     as /good, thisUpdate 2 days ago, nextUpdate 1 day ago
#   /revoked     revoked (keyCompromise, an hour ago)
#   /unknown     unknown
#   /garbage     HTTP 200 with random bytes
#   /hang        reads the request, then never answers until the client leaves
#   /huge        a 50 MiB body, streamed (a DER SEQUENCE header, then zeros)
#   /redirect    302 to https://127.0.0.1:PORT/good
#   /500         HTTP 500
#
# POST (DER body, application/ocsp-request) and GET (/MODE/<base64, URL-
# encoded or not>) both work. The signer is the FAKE issuing CA's delegated
# responder, so signed answers verify only for that CA's certificates. A
# request for a certificate the mock has no copy of in STATE/pki gets
# "unauthorized" (python3-cryptography 38 builds the CertID from the
# certificate itself); one it cannot parse gets "malformedRequest".
#
# Usage: ocsp-mock-responder.py [--port N] STATE/pki
# Started by `sithsenv up` inside the environment's network namespace.

import argparse
import base64
import datetime
import hashlib
import os
import select
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import ocsp

MAX_REQUEST = 64 * 1024
HUGE_SIZE = 50 * 1024 * 1024
HANG_MAX_S = 600  # a thread per forgotten client is freed after this
RESPONSE_TYPE = "application/ocsp-response"


def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def key_hash(cert, algorithm):
    # CertID.issuerKeyHash: the hash of the subjectPublicKey BIT STRING's
    # contents, which for RSA is the PKCS#1 RSAPublicKey.
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return hashlib.new(algorithm.name, der).digest()


class Pki:
    """The test PKI as the mock needs it: signer, a wrong key, and every
    certificate it may be asked about."""

    def __init__(self, pki):
        self.responder = load_cert(os.path.join(pki, "ocsp-responder.pem"))
        self.responder_key = load_key(os.path.join(pki, "ocsp-responder.key"))
        self.wrong_key = load_key(os.path.join(pki, "ca/evil-issuing/key.pem"))
        self.cas = []
        self.by_serial = {}
        for d in sorted(os.listdir(os.path.join(pki, "ca"))):
            p = os.path.join(pki, "ca", d, "cert.pem")
            if os.path.exists(p):
                self.cas.append(load_cert(p))
                self.by_serial.setdefault(self.cas[-1].serial_number, []).append(self.cas[-1])
        for name in sorted(os.listdir(pki)):
            if not name.endswith(".pem"):
                continue
            try:
                cert = load_cert(os.path.join(pki, name))
            except ValueError:
                continue
            self.by_serial.setdefault(cert.serial_number, []).append(cert)

    def find(self, req):
        """(certificate, issuer) the request asks about, or None."""
        for issuer in self.cas:
            if key_hash(issuer, req.hash_algorithm) != req.issuer_key_hash:
                continue
            for cert in self.by_serial.get(req.serial_number, []):
                if cert.issuer == issuer.subject:
                    return cert, issuer
        return None


def nonce_of(req):
    try:
        return req.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None


def build_response(pki, req, mode):
    found = pki.find(req)
    if found is None:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(
            ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(
                serialization.Encoding.DER)
    cert, issuer = found
    now = datetime.datetime.utcnow().replace(microsecond=0)
    this_update, next_update = now, now + datetime.timedelta(minutes=5)
    status, rev_time, rev_reason = ocsp.OCSPCertStatus.GOOD, None, None
    if mode == "expired":
        this_update = now - datetime.timedelta(days=2)
        next_update = now - datetime.timedelta(days=1)
    elif mode == "revoked":
        status = ocsp.OCSPCertStatus.REVOKED
        rev_time = now - datetime.timedelta(hours=1)
        rev_reason = x509.ReasonFlags.key_compromise
    elif mode == "unknown":
        status = ocsp.OCSPCertStatus.UNKNOWN

    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=cert, issuer=issuer, algorithm=req.hash_algorithm,
        cert_status=status, this_update=this_update, next_update=next_update,
        revocation_time=rev_time, revocation_reason=rev_reason,
    ).responder_id(ocsp.OCSPResponderEncoding.NAME, pki.responder
    ).certificates([pki.responder])

    nonce = nonce_of(req)
    if mode == "wrongnonce":
        nonce = bytes(b ^ 0xFF for b in nonce) if nonce else os.urandom(16)
    if nonce is not None and mode != "nononce":
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)

    der = builder.sign(pki.responder_key, hashes.SHA256()).public_bytes(
        serialization.Encoding.DER)
    if mode == "badsig":
        der = resign(der, pki.wrong_key)
    return der


def resign(der, key):
    """The response with its signature made by KEY instead. cryptography
    refuses to sign with a key that is not the responder certificate's, so
    swap the signature bytes: both keys are RSA-2048, the lengths match."""
    resp = ocsp.load_der_ocsp_response(der)
    bad = key.sign(resp.tbs_response_bytes, padding.PKCS1v15(), hashes.SHA256())
    if len(bad) != len(resp.signature) or der.count(resp.signature) != 1:
        raise ValueError("cannot swap the signature")
    return der.replace(resp.signature, bad)


SIGNED_MODES = {"good", "nononce", "wrongnonce", "badsig", "expired",
                "revoked", "unknown"}
RAW_MODES = {"garbage", "hang", "huge", "redirect", "500"}


class Handler(BaseHTTPRequestHandler):
    server_version = "sithsenv-ocsp-mock"
    # HTTP/1.0: one request per connection, the end of a body is its length.
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        mode, _, rest = self.path.lstrip("/").partition("/")
        self.answer(mode, lambda: base64.b64decode(
            urllib.parse.unquote(rest), validate=True))

    def do_POST(self):
        mode = self.path.lstrip("/").partition("/")[0]
        self.answer(mode, self.read_body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or "0")
        if n <= 0 or n > MAX_REQUEST:
            raise ValueError("Content-Length %d" % n)
        ctype = self.headers.get("Content-Type", "")
        if ctype != "application/ocsp-request":
            self.log_message("note: Content-Type %r", ctype)
        return self.rfile.read(n)

    def answer(self, mode, read_request):
        if mode not in SIGNED_MODES | RAW_MODES:
            self.send_body(404, "text/plain", (
                "mock OCSP responder: use /MODE, MODE one of %s\n" %
                " ".join(sorted(SIGNED_MODES | RAW_MODES))).encode())
            return
        try:
            der = read_request()
            req = ocsp.load_der_ocsp_request(der)
        except Exception as e:  # any malformed request is the client's bug
            self.log_message("malformed request: %s", e)
            if mode not in RAW_MODES:
                self.send_body(200, RESPONSE_TYPE,
                               ocsp.OCSPResponseBuilder.build_unsuccessful(
                                   ocsp.OCSPResponseStatus.MALFORMED_REQUEST
                               ).public_bytes(serialization.Encoding.DER))
                return
            req = None
        getattr(self, "raw_" + mode if mode in RAW_MODES else "signed")(
            mode, req)

    def signed(self, mode, req):
        self.send_body(200, RESPONSE_TYPE, build_response(self.server.pki, req, mode))

    def raw_garbage(self, mode, req):
        self.send_body(200, RESPONSE_TYPE, os.urandom(1024))

    def raw_500(self, mode, req):
        self.send_body(500, "text/plain", b"mock OCSP responder: 500 on request\n")

    def raw_redirect(self, mode, req):
        self.send_response(302)
        self.send_header("Location", "https://127.0.0.1:%d/good" %
                         self.server.server_address[1])
        self.send_header("Content-Length", "0")
        self.end_headers()

    def raw_hang(self, mode, req):
        # Wait for the client to close: readable with no data means EOF.
        sock = self.connection
        waited = 0
        while waited < HANG_MAX_S:
            r, _, _ = select.select([sock], [], [], 1.0)
            waited += 1
            if r and not sock.recv(4096, 0):
                self.log_message("hang: client went away")
                return
        self.log_message("hang: gave up after %ds", HANG_MAX_S)

    def raw_huge(self, mode, req):
        self.send_response(200)
        self.send_header("Content-Type", RESPONSE_TYPE)
        self.send_header("Content-Length", str(HUGE_SIZE))
        self.end_headers()
        # A DER SEQUENCE that claims the whole body, to tempt a parser that
        # sizes its buffer from the length octets.
        head = b"\x30\x84" + (HUGE_SIZE - 6).to_bytes(4, "big")
        chunk = bytes(64 * 1024)
        sent = 0
        try:
            self.wfile.write(head)
            sent = len(head)
            while sent < HUGE_SIZE:
                n = min(len(chunk), HUGE_SIZE - sent)
                self.wfile.write(chunk[:n])
                sent += n
        except (BrokenPipeError, ConnectionResetError):
            self.log_message("huge: client left after %d bytes", sent)

    def send_body(self, code, ctype, body):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.log_message("client left before the body")


def main():
    ap = argparse.ArgumentParser(description="mock OCSP responder for tests")
    ap.add_argument("--port", type=int, default=8889)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("pki", help="sithsenv's STATE/pki")
    args = ap.parse_args()
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = True  # /hang threads must not hold up exit
    server.pki = Pki(args.pki)
    print("mock OCSP responder on %s:%d" % (args.bind, args.port),
          file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
