#!/usr/bin/env bash
# certad's OCSP hot path over HTTP, checked by openssl ocsp: the same
# request bytes sent again and again on one kept-alive connection get the
# very bytes of the first (pre-signed) answer, which openssl verifies; after
# `certa ca revoke` in another process the same bytes get "revoked"; a
# request with a nonce still gets its own nonce back. Every request has its
# one log line, in the usual format, although lines are buffered per
# worker, also when SIGTERM stops certad in the middle of a load.
source "$(dirname "$0")/ca_common.sh"
source "$(dirname "$0")/certad_common.sh"
source "$(dirname "$0")/publish_common.sh"

new_ca ca "CN=OCSP Fast Path CA,O=Example"
issue ca d1
openssl ocsp -issuer ca/ca.crt -cert d1.crt -no_nonce -reqout req.der >/dev/null 2>&1
start_certad "$BASE" --dir ca --listen "127.0.0.1:$PORT" --workers 2

N=400
# post N FILE...: N POSTs of req.der on one connection; the distinct bodies
# go to FILE.0, FILE.1 ...; prints how many answers there were.
burst() {
  python3 - "$PORT" "$1" "$2" <<'EOF'
import http.client, sys
port, n, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
body = open("req.der", "rb").read()
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
seen = []
for _ in range(n):
    c.request("POST", "/ocsp", body, {"Content-Type": "application/ocsp-request"})
    r = c.getresponse()
    data = r.read()
    assert r.status == 200, r.status
    assert r.getheader("Content-Type") == "application/ocsp-response"
    assert r.getheader("Content-Length") == str(len(data))
    assert r.getheader("ETag", "").startswith('"')
    assert "max-age=" in r.getheader("Cache-Control", "")
    assert r.getheader("Last-Modified") and r.getheader("Expires") and r.getheader("Date")
    if data not in seen:
        seen.append(data)
for i, d in enumerate(seen):
    open("%s.%d" % (prefix, i), "wb").write(d)
print(len(seen))
EOF
}

# The first answer is signed, every later one comes from the cache: one
# distinct body in all (unless the clock crossed a refresh, which it cannot
# in an hour's nextUpdate).
distinct=$(burst $N good)
[ "$distinct" = 1 ] || fail "$distinct different answers to the same request bytes"
out=$(openssl ocsp -respin good.0 -issuer ca/ca.crt -cert d1.crt -CAfile ca/ca.crt 2>&1 || true)
grep -q "^d1.crt: good" <<<"$out" || fail "the cached answer is not good: $out"
grep -q "Response verify OK" <<<"$out" || fail "the cached answer does not verify: $out"
ok "$N requests on one connection: one pre-signed answer, verified by openssl ocsp"

# A nonce: echoed (openssl checks it and warns when it is missing).
out=$(openssl ocsp -issuer ca/ca.crt -cert d1.crt -url "$BASE/ocsp" -CAfile ca/ca.crt 2>&1 || true)
grep -q "^d1.crt: good" <<<"$out" || fail "nonce request: $out"
grep -qi "nonce" <<<"$out" && fail "nonce not echoed after the same CertID was cached: $out"
ok "a request with a nonce gets its nonce back"

# Revoked in another process: the same bytes soon get the revoked answer.
"$CERTA" ca revoke --dir ca --serial "$(serial_of d1.crt)" --reason keyCompromise >/dev/null
for _ in $(seq 1 50); do
  curl -fsS -o rev.der -H 'Content-Type: application/ocsp-request' --data-binary @req.der "$BASE/ocsp"
  out=$(openssl ocsp -respin rev.der -issuer ca/ca.crt -cert d1.crt -CAfile ca/ca.crt 2>&1 || true)
  grep -q "^d1.crt: revoked" <<<"$out" && break
  sleep 0.1
done
grep -q "^d1.crt: revoked" <<<"$out" || fail "the same bytes still answered good after certa ca revoke: $out"
grep -q "Response verify OK" <<<"$out" || fail "the revoked answer does not verify: $out"
grep -q "Reason: keyCompromise" <<<"$out" || fail "revocation reason missing: $out"
distinct=$(burst 50 rev)
[ "$distinct" = 1 ] && cmp -s rev.0 rev.der || fail "the revoked answer is not the cached one"
ok "after certa ca revoke the same request bytes get the revoked answer"

# One log line per request, buffered, all written by the time certad has
# stopped.
before=$(grep -c ' path=/ocsp ' "$T/certad.log" || true)
burst $N last >/dev/null
stop_certad
after=$(grep -c ' path=/ocsp ' "$T/certad.log")
[ $((after - before)) = $N ] || fail "expected $N log lines for $N requests, got $((after - before))"
bad=$(grep ' path=/ocsp ' "$T/certad.log" | grep -cvE '^time=[0-9T:.-]+Z worker=[01] remote=127\.0\.0\.1:[0-9]+ tls=0 method=POST path=/ocsp status=200 bytes=[0-9]+ ms=[0-9]+\.[0-9]{3} detail="ocsp (good|revoked) serial=[0-9a-f]+ (cached|signed|nonce)"$' || true)
[ "$bad" = 0 ] || fail "$bad log lines not in the format"$'\n'"$(grep ' path=/ocsp ' "$T/certad.log" | sed -n 1,3p)"
ok "one log line per request in the usual format"

# SIGTERM in the middle of a load (four connections): every answer a client
# got has its log line, and no line is for a request never made.
start_certad "$BASE" --dir ca --listen "127.0.0.1:$PORT" --workers 2
before=$(grep -c ' path=/ocsp ' "$T/certad.log" || true)
read -r sent got < <(python3 - "$PORT" "$CERTAD_PID" <<'EOF'
import http.client, os, signal, sys, threading, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
body = open("req.der", "rb").read()
lock = threading.Lock()
counts = {"sent": 0, "got": 0}
def client():
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        while True:
            with lock:
                counts["sent"] += 1
            c.request("POST", "/ocsp", body, {"Content-Type": "application/ocsp-request"})
            r = c.getresponse()
            r.read()
            with lock:
                counts["got"] += 1
            if r.getheader("Connection", "").lower() == "close":
                return
    except Exception:
        return
threads = [threading.Thread(target=client) for _ in range(4)]
for t in threads: t.start()
time.sleep(0.5)
os.kill(pid, signal.SIGTERM)
for t in threads: t.join()
print(counts["sent"], counts["got"])
EOF
)
stop_certad
lines=$(( $(grep -c ' path=/ocsp ' "$T/certad.log") - before ))
[ "$got" -gt 100 ] || fail "the load before SIGTERM was too light ($got answers)"
[ "$lines" -ge "$got" ] && [ "$lines" -le "$sent" ] ||
  fail "SIGTERM under load: $lines log lines for $got answers received ($sent requests sent)"
ok "SIGTERM under load: $lines log lines for $got answers received, $sent requests sent"
