#!/usr/bin/env bash
# The main job: installs what is missing, builds certa, then creates a demo
# CA under ./demo (fresh each run), makes a device key and CSR, issues a
# certificate, revokes it, writes a CRL, checks everything with the openssl
# command line, then starts the CA server certad on loopback, prints its
# URLs and a copy-paste enrollment example, and serves until Ctrl-C.
#
#   bash scripts/demo.sh              # ... and keep serving until Ctrl-C
#   bash scripts/demo.sh --no-serve   # one shot: check certad answers, stop it
#   CERTA_DEMO_SERVE=0 / CERTA_DEMO_PORT=8080 do the same through the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

serve=${CERTA_DEMO_SERVE:-1}
for arg in "$@"; do
  case $arg in
    --no-serve) serve=0 ;;
    --serve) serve=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown option '$arg' (--no-serve, --serve)" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "Installing build dependencies (scripts/deps.sh)"
CERTA_DEPS_BENCH=${CERTA_DEPS_BENCH:-0} bash scripts/deps.sh

step "Building (cmake -B build)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
certa() { "$root/build/certa" "$@"; }
echo "built $root/build/certa"

rm -rf demo
mkdir -p demo
cd demo

# certad's port: CERTA_DEMO_PORT, or the first free one from 8080 on. It is
# chosen now because the CA writes its URLs (CDP, AIA) into certificates.
port_free() { python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1])))' "$1" 2>/dev/null; }
port=${CERTA_DEMO_PORT:-}
if [ -z "$port" ]; then
  for p in $(seq 8080 8180); do
    if port_free "$p"; then port=$p; break; fi
  done
  [ -n "$port" ] || { echo "demo.sh: no free port in 8080-8180; set CERTA_DEMO_PORT" >&2; exit 1; }
fi
base=http://127.0.0.1:$port

step "Creating a root CA (EC P-256) in ./demo/ca"
run certa ca init --dir ca --subject "CN=certa Demo Root CA,O=certa demo" --key ec:p256 --days 3650
# The URLs the CA puts into certificates point at certad below.
sed -i "s|^base_url = .*|base_url = $base|" ca/ca.conf
grep '^base_url' ca/ca.conf
run certa ca cert --dir ca >ca-cert.pem
openssl x509 -in ca-cert.pem -noout -subject -fingerprint -sha256

step "Making a device key and a certificate request"
run certa key generate --type ec:p256 --out device.key
run certa csr --key device.key --subject "CN=router1.demo.example,O=certa demo" \
  --san dns:router1.demo.example --san ip:192.0.2.10 --key-usage ike,ssl-client --out device.csr

step "Issuing the certificate (profile: default)"
run certa ca issue --dir ca --csr device.csr --out device.crt
serial=$(openssl x509 -in device.crt -noout -serial | cut -d= -f2)
openssl x509 -in device.crt -noout -subject -issuer -dates -ext basicConstraints,keyUsage,extendedKeyUsage,subjectAltName
run openssl verify -CAfile ca-cert.pem device.crt

step "Listing what the CA issued"
run certa ca list --dir ca

step "Revoking serial $serial (keyCompromise) and writing a CRL"
run certa ca revoke --dir ca --serial "$serial" --reason keyCompromise
run certa ca crl --dir ca --out ca.crl
openssl crl -in ca.crl -noout -text | grep -E -A1 "Issuer:|Last Update|Next Update|CRL Number:|Serial Number|Reason Code" | grep -v -- "^--" || true
run openssl crl -in ca.crl -CAfile ca-cert.pem -noout -verify

step "Checking the revoked certificate with the CRL"
if openssl verify -crl_check -CAfile ca-cert.pem -CRLfile ca.crl device.crt; then
  echo "unexpected: the revoked certificate still verifies" >&2
  exit 1
fi
echo "openssl rejects the revoked certificate, as it should"

cat <<DONE

Everything is under $root/demo:
  ca/            the CA state directory (ca.conf with profiles, ca.key, ca.crt, ca.db)
  ca-cert.pem    the CA certificate
  device.key     device private key (PKCS#8, mode 0600)
  device.csr     its PKCS#10 request
  device.crt     the certificate issued to it (serial $serial), now revoked
  ca.crl         the CRL listing it
DONE

step "Starting the CA server: certad --dir demo/ca --listen 127.0.0.1:$port"
certad=$root/build/certad
"$certad" --dir ca --listen "127.0.0.1:$port" 2>certad.log &
pid=$!
stop_certad() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap stop_certad EXIT
for _ in $(seq 1 100); do
  curl -s -o /dev/null "$base/healthz" && break
  kill -0 "$pid" 2>/dev/null || { cat certad.log >&2; echo "certad did not start" >&2; exit 1; }
  sleep 0.05
done
printf '$ curl %s/healthz\n' "$base"
curl -sS "$base/healthz"
name=$(curl -s "$base/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ca"])')
fp=$(openssl x509 -in ca-cert.pem -noout -fingerprint -sha256 | cut -d= -f2 | tr -d :)

# What the services built into this certad answer; a path no service
# serves is 404. What is served is checked with openssl.
echo "Published by certad:"
fetch() { curl -s -o "$2" -w '%{http_code}' "$base$1" || true; }
if [ "$(fetch "/ca/$name.crt" served-ca.crt)" = 200 ]; then
  echo "  /ca/$name.crt: the CA certificate"
  { openssl x509 -inform DER -in served-ca.crt -noout -subject 2>/dev/null ||
    openssl x509 -in served-ca.crt -noout -subject; } | sed 's/^/    /'
else
  echo "  /ca/$name.crt: not served by this build"
fi
if [ "$(fetch "/crl/$name.crl" served.crl)" = 200 ]; then
  echo "  /crl/$name.crl: the current CRL"
  openssl crl -inform DER -in served.crl -CAfile ca-cert.pem -noout -verify 2>&1 | sed 's/^/    /'
else
  echo "  /crl/$name.crl: not served by this build"
fi
if [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/ocsp-request' "$base/ocsp")" != 404 ]; then
  echo "  /ocsp: the OCSP responder says about device.crt:"
  openssl ocsp -issuer ca-cert.pem -cert device.crt -url "$base/ocsp" -CAfile ca-cert.pem 2>&1 | sed 's/^/    /' || true
else
  echo "  /ocsp: not served by this build"
fi
rm -f served-ca.crt served.crl

# A device enrolls online over SCEP, as a router would (when this build's
# certad serves SCEP): a one-time challenge password, a trustpoint pinned to
# the CA's fingerprint, the CA certificate fetched and checked, enrollment.
if [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/scep?operation=GetCACaps")" = 200 ]; then
  step "Enrolling router2 over SCEP against certad (device state in ./demo/device)"
  (umask 077; certa ca challenge create --dir ca >challenge.txt 2>/dev/null)
  echo "\$ certa ca challenge create --dir ca >challenge.txt    # one-time, stored hashed by the CA"
  run certa --state device trustpoint add router2 --protocol scep --url "$base/scep" \
    --fingerprint "sha256:$fp" --challenge-file challenge.txt \
    --subject "CN=router2.demo.example" --san dns:router2.demo.example
  rm -f challenge.txt
  run certa --state device ca authenticate router2 --yes
  run certa --state device enroll router2
  enrolled=device/trustpoints/router2/cert.pem
  openssl x509 -in "$enrolled" -noout -subject -issuer -serial
  run openssl verify -CAfile ca-cert.pem "$enrolled"
  printf '$ openssl ocsp -issuer ca-cert.pem -cert %s -url %s/ocsp -CAfile ca-cert.pem\n' "$enrolled" "$base"
  openssl ocsp -issuer ca-cert.pem -cert "$enrolled" -url "$base/ocsp" -CAfile ca-cert.pem 2>&1 | sed -n '1,2p'
fi

cat <<URLS

certad serves CA '$name' at $base (log: demo/certad.log):
  $base/healthz             health (JSON)
  $base/scep                SCEP (also /cgi-bin/pkiclient.exe)
  $base/ocsp                OCSP responder
  $base/crl/$name.crl          full CRL   ($base/crl/$name-delta.crl: delta)
  $base/ca/$name.crt           CA certificate
  $base/cmp                 CMP
CA fingerprint (sha256): $fp

Enroll another device over SCEP (copy-paste, from $root, while certad runs):
  PW=\$(build/certa ca challenge create --dir demo/ca)
  build/certa --state demo/router3 trustpoint add demo --protocol scep \\
      --url $base/scep --fingerprint sha256:$fp \\
      --challenge "\$PW" --subject "CN=router3.demo.example" --san dns:router3.demo.example
  build/certa --state demo/router3 ca authenticate demo --yes
  build/certa --state demo/router3 enroll demo
  build/certa --state demo/router3 show certificates
Check a certificate with OpenSSL against certad:
  openssl ocsp -issuer demo/ca-cert.pem -cert demo/device.crt -url $base/ocsp -CAfile demo/ca-cert.pem
  curl -s $base/crl/$name.crl | openssl crl -inform DER -noout -text
URLS

if [ "$serve" != 1 ]; then
  step "Stopping certad (--no-serve)"
  stop_certad
  trap - EXIT
  echo "certad stopped; rerun without --no-serve to keep it serving."
  exit 0
fi

step "Serving until Ctrl-C (certad's request log follows)"
tail -n 0 -f certad.log &
tailpid=$!
stop_all() { stop_certad; kill "$tailpid" 2>/dev/null || true; wait "$tailpid" 2>/dev/null || true; }
trap stop_all EXIT
trap 'echo; echo "stopping certad"; exit 0' INT TERM
rc=0
wait "$pid" || rc=$?
exit $rc
