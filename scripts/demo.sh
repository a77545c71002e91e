#!/usr/bin/env bash
# The main job for now: installs what is missing, builds certa, then creates
# a demo CA under ./demo (fresh each run), makes a device key and CSR, issues
# a certificate, revokes it, writes a CRL, checks everything with the openssl
# command line, and prints what it did.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

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

step "Creating a root CA (EC P-256) in ./demo/ca"
run certa ca init --dir ca --subject "CN=certa Demo Root CA,O=certa demo" --key ec:p256 --days 3650
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

step "Done"
cat <<DONE
Everything is under $root/demo:
  ca/            the CA state directory (ca.conf with profiles, ca.key, ca.crt, ca.db)
  ca-cert.pem    the CA certificate
  device.key     device private key (PKCS#8, mode 0600)
  device.csr     its PKCS#10 request
  device.crt     the certificate issued to it (serial $serial), now revoked
  ca.crl         the CRL listing it
Next: edit demo/ca/ca.conf profiles, try 'certa ca issue --profile manual' and
'certa ca requests/approve', or 'build/certa --help'.
DONE
