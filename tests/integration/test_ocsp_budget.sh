#!/usr/bin/env bash
# [ocsp] sign_budget_ms: answers signed on demand (a never-issued serial, a
# nonce, several CertIDs) draw on a budget of CPU time; past it they get
# the unsigned tryLater status, checked by `openssl ocsp`, while pre-signed
# answers for the CA's own serials go on. With 0 nothing is signed on
# demand; with 1 ms a flood of never-issued serials is cut off and the
# budget comes back. A bad value stops startup. Nothing is stored.
source "$(dirname "$0")/ca_common.sh"
source "$(dirname "$0")/certad_common.sh"
source "$(dirname "$0")/publish_common.sh"

new_ca ca "CN=OCSP Budget CA,O=Example"
issue ca d1
issue ca d2
# budget MS: sets [ocsp] sign_budget_ms in ca.conf
budget() { sed -i "s/^#* *sign_budget_ms = .*/sign_budget_ms = $1/" ca/ca.conf; }
grep -q '^# sign_budget_ms = 500$' ca/ca.conf || fail "ca.conf does not show the default sign_budget_ms"
# fresh_port: certad starts on a port of its own each time; another test
# could take a port this one left free meanwhile.
fresh_port() { PORT=$(free_port); BASE="http://127.0.0.1:$PORT"; }
for i in $(seq 1 120); do
  openssl ocsp -issuer ca/ca.crt -serial $((0x70000000 + i)) -no_nonce -reqout "req$i.der" >/dev/null 2>&1
done
# ask ARGS...: openssl ocsp's output for a request to certad.
ask() {
  openssl ocsp -issuer ca/ca.crt -url "$BASE/ocsp" -CAfile ca/ca.crt "$@" 2>&1 || true
}

# 0: only pre-signed answers.
budget 0
fresh_port
serve_ca ca
before=$(store_state ca)    # after the first start (SCEP's RA certificate)
out=$(ask -cert d1.crt -no_nonce)
grep -q "^d1.crt: good" <<<"$out" || fail "own serial, no nonce, budget 0: $out"
out=$(ask -cert d1.crt)
grep -q "Responder Error: trylater (3)" <<<"$out" || fail "nonce with budget 0 not tryLater: $out"
out=$(ask -serial 0x5eed5eed -no_nonce)
grep -q "Responder Error: trylater (3)" <<<"$out" || fail "never-issued serial with budget 0 not tryLater: $out"
out=$(ask -cert d1.crt -cert d2.crt -no_nonce)
grep -q "Responder Error: trylater (3)" <<<"$out" || fail "two CertIDs with budget 0 not tryLater: $out"
out=$(ask -cert d2.crt -no_nonce)
grep -q "^d2.crt: good" <<<"$out" || fail "own serial refused after tryLaters: $out"
log_wait_count "$T/certad.log" 'detail="ocsp tryLater (on-demand signing over \[ocsp\] sign_budget_ms)"' 3 ||
  fail "expected 3 tryLater log lines"
stop_certad
[ "$(store_state ca)" = "$before" ] || fail "store changed: $before -> $(store_state ca)"
ok "sign_budget_ms = 0: nonce, never-issued serial and two CertIDs get tryLater; own serials answer"

# 1 ms per second: a flood of never-issued serials is cut off.
budget 1
: >"$T/certad.log"
fresh_port
serve_ca ca
signed=0 later=0
for i in $(seq 1 120); do
  curl -fsS -o "resp$i.der" -H 'Content-Type: application/ocsp-request' --data-binary @"req$i.der" "$BASE/ocsp" ||
    fail "request $i: HTTP error"
  # tryLater is the 5-octet OCSPResponse 30 03 0a 01 03
  if [ "$(od -An -tx1 "resp$i.der" | tr -d ' \n')" = 30030a0103 ]; then
    later=$((later + 1))
  else
    signed=$((signed + 1))
  fi
done
openssl ocsp -respin resp1.der -issuer ca/ca.crt -serial $((0x70000001)) -CAfile ca/ca.crt 2>&1 |
  grep -q ": unknown" || fail "the first never-issued serial was not answered unknown"
[ $later -ge 1 ] || fail "120 never-issued serials within 1 ms/s: none got tryLater ($signed signed)"
[ $signed -ge 1 ] || fail "nothing signed at all"
out=$(ask -cert d1.crt -no_nonce)
grep -q "^d1.crt: good" <<<"$out" || fail "own serial during the flood: $out"
sleep 1.2
out=$(ask -serial 0x5eed0001 -no_nonce)
grep -q "0x5eed0001: unknown" <<<"$out" || fail "budget not back after a second: $out"
stop_certad
ok "sign_budget_ms = 1: $signed of 120 never-issued serials signed, $later tryLater; the budget comes back"

# A bad value stops startup with one line naming it.
budget abc
fresh_port
rc=0
"$CERTAD" --dir ca --listen "127.0.0.1:$PORT" 2>"$T/bad.err" || rc=$?
[ $rc = 1 ] || fail "certad with sign_budget_ms = abc exited $rc"
grep -q "\[ocsp\] sign_budget_ms = 'abc' is not a number in 0..1024000" "$T/bad.err" ||
  fail "error: $(cat "$T/bad.err")"
ok "sign_budget_ms = abc is refused at startup"
