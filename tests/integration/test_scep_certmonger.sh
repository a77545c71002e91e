#!/usr/bin/env bash
# certmonger (its SCEP helper /usr/lib/certmonger/scep-submit, driven by the
# certmonger daemon on a private session bus with its state in the scratch
# directory) enrolls against certad: an EC CA through its RSA RA
# certificate and an RSA CA with [scep] ra = yes, automatic approval with a
# challenge password, renewal (getcert resubmit: certmonger signs with the
# current certificate), and manual approval (pending until `certa ca
# approve`, then collected). Certificates checked with openssl.
#
# An RSA CA without an RA certificate is not tested here: certmonger's
# scep-submit builds its verification store from the RA and CA
# certificates, and a lone CA certificate leaves it empty (the reply's
# signer then fails as "self-signed certificate"); certa's own client,
# scepclient and strongSwan cover that set-up.
source "$(dirname "$0")/scep_common.sh"
[ -x /usr/lib/certmonger/scep-submit ] && command -v certmonger >/dev/null && command -v dbus-run-session >/dev/null \
  || { echo "SKIP: certmonger or dbus-run-session not installed"; exit 77; }

new_ca ec ec:p256
new_ca rsa rsa:2048
new_ca man ec:p256
P1=$(free_port); P2=$(free_port); P3=$(free_port)
start_certad ec "$P1"
start_certad rsa "$P2" "[scep]" "ra = yes"
start_certad man "$P3" "[scep]" "profile = manual"
[ -s rsa/scep-ra.crt ] || fail "ra = yes: no RA certificate for the RSA CA"

export CERTMONGER_CONFIG_DIR="$T/cm" CERTMONGER_REQUESTS_DIR="$T/cm/requests" CERTMONGER_CAS_DIR="$T/cm/cas" \
  CERTMONGER_LOCAL_CA_DIR="$T/cm/local" CERTMONGER_TMPDIR="$T/cm/tmp" HOME="$T/home"
mkdir -p "$CERTMONGER_REQUESTS_DIR" "$CERTMONGER_CAS_DIR" "$CERTMONGER_LOCAL_CA_DIR" "$CERTMONGER_TMPDIR" "$HOME"
PW_EC=$("$CERTA" ca challenge create --dir ec 2>/dev/null)
PW_RSA=$("$CERTA" ca challenge create --dir rsa 2>/dev/null)

# What runs inside certmonger's session (which does not pass our
# environment on): each step leaves its evidence in $T for the checks below.
{
  printf 'T=%q CERTA=%q PW_EC=%q PW_RSA=%q\n' "$T" "$CERTA" "$PW_EC" "$PW_RSA"
  printf 'URL1=%q URL2=%q URL3=%q\n' "http://127.0.0.1:$P1/scep" "http://127.0.0.1:$P2/scep" "http://127.0.0.1:$P3/scep"
  for v in CERTMONGER_CONFIG_DIR CERTMONGER_REQUESTS_DIR CERTMONGER_CAS_DIR CERTMONGER_LOCAL_CA_DIR CERTMONGER_TMPDIR HOME; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
} >"$T/inner.sh"
cat >>"$T/inner.sh" <<'EOF'
set -u
state() { getcert list -s -i "$1" | awk -F': ' '/^\tstatus:/ { print $2 }'; }
wait_state() { # ID STATE...
  local id=$1; shift
  for _ in $(seq 1 300); do
    s=$(state "$id"); for w in "$@"; do [ "$s" = "$w" ] && return 0; done
    sleep 0.1
  done
  echo "request $id stuck in $(state "$id")"; getcert list -s -i "$id"; return 1
}
for ca in ec:$URL1 rsa:$URL2 man:$URL3; do
  getcert add-scep-ca -s -c "cm-${ca%%:*}" -u "${ca#*:}" || exit 1
done
for ca in cm-ec cm-rsa cm-man; do
  for _ in $(seq 1 100); do getcert list-cas -s -c "$ca" | grep -q "SCEP CA certificate thumbprint" && break; sleep 0.1; done
done
getcert request -s -c cm-ec -I ec1 -k "$T/ec.key" -f "$T/ec.crt" -N "CN=cm-ec,O=certa tests" -L "$PW_EC" || exit 1
getcert request -s -c cm-rsa -I rsa1 -k "$T/rsa.key" -f "$T/rsa.crt" -N "CN=cm-rsa,O=certa tests" -L "$PW_RSA" || exit 1
wait_state ec1 MONITORING || exit 1
wait_state rsa1 MONITORING || exit 1
cp "$T/ec.crt" "$T/ec-first.crt"
# Renewal: certmonger signs the request with the certificate it has.
getcert resubmit -s -i ec1 || exit 1
for _ in $(seq 1 300); do cmp -s "$T/ec.crt" "$T/ec-first.crt" || break; sleep 0.1; done
wait_state ec1 MONITORING || exit 1
# Manual approval.
getcert request -s -c cm-man -I man1 -k "$T/man.key" -f "$T/man.crt" -N "CN=cm-man,O=certa tests" || exit 1
for _ in $(seq 1 300); do
  id=$("$CERTA" ca requests --dir "$T/man" | awk '$2 == "pending" && /cm-man/ { print $1 }')
  [ -n "$id" ] && break
  sleep 0.1
done
[ -n "$id" ] || { echo "no pending request"; exit 1; }
wait_state man1 CA_WORKING || exit 1
"$CERTA" ca approve --dir "$T/man" "$id" >/dev/null || exit 1
getcert resubmit -s -i man1 || exit 1
wait_state man1 MONITORING || exit 1
touch "$T/inner.done"
EOF
timeout 300 dbus-run-session -- certmonger -s -n -c "bash $T/inner.sh" >"$T/certmonger.log" 2>&1 || true
[ -e "$T/inner.done" ] || { tail -40 "$T/certmonger.log"; fail "certmonger steps did not complete"; }

check_cert ec ec.crt
[[ "$(requester_of ec cm-ec)" == cert:* ]] || fail "certmonger renewal not authenticated by its certificate"
first=$(openssl x509 -in ec-first.crt -noout -serial | sed 's/serial=//' | tr A-F a-f | sed 's/^0*//')
[ "$(requester_of ec cm-ec)" = "cert:$first" ] || fail "renewal not recorded as cert:$first"
check_cert ec ec-first.crt
ok "certmonger enrolled through the RA of an EC CA and renewed with its certificate"
check_cert rsa rsa.crt
[[ "$(requester_of rsa cm-rsa)" == challenge:* ]] || fail "RSA CA request not recorded as the challenge"
ok "certmonger enrolled with an RSA CA and ra = yes"
check_cert man man.crt
ok "certmonger: manual approval, collected after certa ca approve"
