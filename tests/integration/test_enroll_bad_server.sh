#!/usr/bin/env bash
# `certa ca authenticate` and `certa enroll` against servers that are not
# SCEP CAs, through the CLI: an HTML page, an empty body, a 404 (no SCEP
# service at the URL), a garbage or truncated CA certificate, a server that
# is not there. Each is one line on stderr that names what happened, exit 1
# (3 for 404), and no file of the state changes. (Crafted CertReps are in
# tests/unit/test_scep_client_server.c.)
source "$(dirname "$0")/enroll_common.sh"
PORT=$(free_port)
cat >bad.py <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def answer(self, code, ctype, body):
        self.send_response(code); self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        kind = self.path.split("/")[1]
        caps = b"AES\nSHA-256\nPOSTPKIOperation\n"
        if kind == "html": self.answer(200, "text/html", b"<!DOCTYPE html><html><body>Router login</body></html>")
        elif kind == "empty": self.answer(200, "application/x-x509-ca-cert", b"")
        elif kind in ("posthtml", "postempty"): self.answer(200, "text/plain", caps)
        elif kind == "garbage":
            if "GetCACaps" in self.path: self.answer(200, "text/plain", caps)
            else: self.answer(200, "application/x-x509-ca-cert", b"\x30\x82\x05\x00 not really DER")
        elif kind == "trunc":
            if "GetCACaps" in self.path: self.answer(200, "text/plain", caps)
            else: self.answer(200, "application/x-x509-ca-ra-cert", open(sys.argv[2], "rb").read()[:300])
        else: self.answer(404, "text/plain", b"not found")
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        kind = self.path.split("/")[1]
        if kind == "posthtml": self.answer(200, "text/html", b"<html>500 Internal error</html>")
        else: self.answer(200, "application/x-pki-message", b"")
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
# A certs-only PKCS#7 to truncate.
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -subj /CN=Bad -days 2 2>/dev/null
openssl crl2pkcs7 -nocrl -certfile ca.pem -outform DER -out ca.p7b
python3 bad.py "$PORT" ca.p7b &
PIDS+=($!)
wait_http "http://127.0.0.1:$PORT/"
B="http://127.0.0.1:$PORT"

"$CERTA" key generate --label dev --type rsa:2048
for kind in html empty garbage trunc none; do
    "$CERTA" trustpoint add "$kind" --protocol scep --url "$B/$kind/scep" --key dev --challenge pw
done
expect_fail 1 "answered GetCACaps with an HTML page, not SCEP" "$CERTA" ca authenticate html --yes
expect_fail 1 "sent an empty answer to GetCACaps" "$CERTA" ca authenticate empty --yes
expect_fail 1 "neither a DER certificate nor a certs-only PKCS#7 (malformed or truncated)" \
    "$CERTA" ca authenticate garbage --yes
expect_fail 1 "malformed or truncated" "$CERTA" ca authenticate trunc --yes
expect_fail 3 "no SCEP service at $B/none/scep: GetCACaps answered HTTP 404" "$CERTA" ca authenticate none --yes
ok "ca authenticate: HTML, empty, garbage, truncated, 404 each refused, nothing stored"

# Enrollment with a certificate and key in place: they must stay as they are.
openssl req -new -key "$CERTA_STATE/keys/dev.pem" -subj /CN=dev -out dev.csr 2>/dev/null
openssl x509 -req -in dev.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out dev.pem 2>/dev/null
for kind in posthtml postempty; do
    "$CERTA" trustpoint add "$kind" --protocol scep --url "$B/$kind/scep" --key dev --challenge pw
    "$CERTA" import "$kind" ca.pem --ca
    "$CERTA" import "$kind" dev.pem
done
expect_fail 1 "answered PKIOperation with an HTML page, not SCEP" "$CERTA" enroll posthtml
expect_fail 1 "sent an empty answer to PKIOperation" "$CERTA" enroll postempty
"$CERTA" trustpoint add gone --protocol scep --url "$B/none/scep" --key dev --challenge pw
"$CERTA" import gone ca.pem --ca
"$CERTA" import gone dev.pem
expect_fail 3 "no SCEP service at $B/none/scep: GetCACaps answered HTTP 404" "$CERTA" enroll gone
"$CERTA" trustpoint add unreach --protocol scep --url "http://127.0.0.1:$(free_port)/scep" --key dev --challenge pw
"$CERTA" import unreach ca.pem --ca
"$CERTA" import unreach dev.pem
expect_fail 1 "unreachable" "$CERTA" enroll unreach
expect_fail 1 "unreachable" "$CERTA" ca authenticate unreach --yes
"$CERTA" trustpoint add noca --protocol scep --url "$B/garbage/scep" --key dev
expect_fail 1 "has no CA certificate: run \`certa ca authenticate noca\` first" "$CERTA" enroll noca
expect_fail 3 "no pending SCEP enrollment" "$CERTA" enroll unreach --resume
ok "enroll: HTML, empty CertRep, 404, unreachable, no CA, nothing to resume each refused, key and certificate untouched"
