#!/usr/bin/env bash
# strongSwan's pki (package strongswan-pki) enrolls against certad: `pki
# --scepca` fetches the CA (and RA) certificates, `pki --scep` enrolls with
# a challenge password (AES; DES3 only where [scep] legacy = yes, refused
# with nothing stored elsewhere), renews with --cert/--key (RenewalReq
# signed by the current certificate, new key), and polls with CertPoll
# while a manual-approval request waits for `certa ca approve`; a wrong
# password is refused and stores nothing. Both set-ups: an RSA CA alone and
# an EC CA with its RSA RA certificate. Certificates checked with openssl.
source "$(dirname "$0")/scep_common.sh"
command -v pki >/dev/null || { echo "SKIP: pki (package strongswan-pki) not installed"; exit 77; }
# The tpm plugin complains on machines without a TPM; quiet.
export STRONGSWAN_CONF="$T/strongswan.conf"
printf 'pki {\n  load = pem pkcs1 pkcs7 pkcs8 x509 openssl random nonce curl sha1 sha2 aes des rsa gmp\n}\n' >"$STRONGSWAN_CONF"

pki_q() { pki "$@" 2>>"$T/pki.log"; }

for setup in rsa ec; do
  case $setup in
    rsa) new_ca "$setup" rsa:2048 ;;
    ec) new_ca "$setup" ec:p256 ;;
  esac
  P=$(free_port)
  # Legacy algorithms for the EC set-up only: DES3 is refused by the other.
  if [ "$setup" = ec ]; then start_certad "$setup" "$P" "[scep]" "legacy = yes"; else start_certad "$setup" "$P"; fi
  URL="http://127.0.0.1:$P/scep"
  rm -f ca-*.der ra-*.der
  pki_q --scepca --url "$URL" --caout ca.der --raout ra.der --force || { cat "$T/pki.log"; fail "pki --scepca ($setup)"; }
  cacert=$(ls ca*.der | head -1)
  if [ "$setup" = ec ]; then
    racert=$(ls ra*.der | head -1)
    [ -n "$racert" ] || fail "pki --scepca found no RA certificate for the EC CA"
    cmp <(openssl x509 -inform der -in "$racert") <(openssl x509 -in ec/scep-ra.crt) || fail "RA certificate differs"
  else
    racert=$cacert
  fi
  cmp <(openssl x509 -inform der -in "$cacert") <(openssl x509 -in "$setup/ca.crt") || fail "CA certificate differs"
  ok "$setup: pki --scepca fetched the CA certificate$([ "$setup" = ec ] && echo " and the RA certificate")"

  for cipher in aes des3; do
    pki_q --gen --type rsa --size 2048 >"$setup-$cipher.key"
    pw=$("$CERTA" ca challenge create --dir "$setup" 2>/dev/null)
    if [ "$setup" = rsa ] && [ "$cipher" = des3 ]; then
      before=$(counts "$setup")
      pki_q --scep --url "$URL" --in "$setup-$cipher.key" --dn "CN=ss-$setup-$cipher,O=certa tests" --password "$pw" \
        --cacert-enc "$racert" --cacert-sig "$racert" --cacert "$cacert" --cipher des3 >/dev/null \
        && fail "pki --scep with DES3 enrolled without legacy"
      [ "$(counts "$setup")" = "$before" ] || fail "a refused DES3 request changed the store"
      log_has "$setup" "DES3 envelope refused"
      continue
    fi
    pki_q --scep --url "$URL" --in "$setup-$cipher.key" --dn "CN=ss-$setup-$cipher,O=certa tests" --password "$pw" \
      --cacert-enc "$racert" --cacert-sig "$racert" --cacert "$cacert" --cipher "$cipher" >"$setup-$cipher.der" \
      || { cat "$T/pki.log"; fail "pki --scep ($setup, $cipher)"; }
    check_cert "$setup" "$setup-$cipher.der" DER
  done
  ok "$setup: pki --scep enrolled with a challenge password (AES; DES3 $([ "$setup" = ec ] && echo "with legacy" || echo "refused without legacy"))"

  # Renewal with a new key, signed by the current certificate.
  old_serial=$(openssl x509 -inform der -in "$setup-aes.der" -noout -serial | sed 's/serial=//' | tr A-F a-f | sed 's/^0*//')
  pki_q --gen --type rsa --size 2048 >"$setup-new.key"
  pki_q --scep --url "$URL" --in "$setup-new.key" --dn "CN=ss-$setup-aes,O=certa tests" \
    --cert "$setup-aes.der" --key "$setup-aes.key" \
    --cacert-enc "$racert" --cacert-sig "$racert" --cacert "$cacert" >"$setup-renewed.der" \
    || { cat "$T/pki.log"; fail "pki --scep renewal ($setup)"; }
  check_cert "$setup" "$setup-renewed.der" DER
  [ "$(requester_of "$setup" "ss-$setup-aes")" = "cert:$old_serial" ] || fail "renewal not recorded as cert:$old_serial"
  log_has "$setup" "RenewalReq txid="
  ok "$setup: renewal with a new key, authenticated by the current certificate"

  # A wrong password: refused (badRequest), nothing stored.
  before=$(counts "$setup")
  pki_q --gen --type rsa --size 2048 >"$setup-wrong.key"
  pki_q --scep --url "$URL" --in "$setup-wrong.key" --dn "CN=ss-$setup-wrong" --password "0000000000000000wrongwrongwrong00" \
    --cacert-enc "$racert" --cacert-sig "$racert" --cacert "$cacert" >/dev/null && fail "wrong password accepted"
  [ "$(counts "$setup")" = "$before" ] || fail "wrong password stored something"
  log_has "$setup" "failInfo=badRequest: challenge password unknown or wrong"
  ok "$setup: a wrong challenge password is refused, nothing stored"
  stop_certad

  # Manual approval: pki polls with CertPoll until the operator approves.
  start_certad "$setup" "$P" "[scep]" "profile = manual"
  pki_q --gen --type rsa --size 2048 >"$setup-manual.key"
  pki --scep --url "$URL" --in "$setup-manual.key" --dn "CN=ss-$setup-manual" --password anything \
    --cacert-enc "$racert" --cacert-sig "$racert" --cacert "$cacert" --interval 1 --maxpolltime 60 \
    >"$setup-manual.der" 2>"$T/pki-manual.log" &
  client=$!
  id=
  for _ in $(seq 1 100); do
    id=$("$CERTA" ca requests --dir "$setup" | awk '$2 == "pending" && /ss-'"$setup"'-manual/ { print $1 }')
    [ -n "$id" ] && break
    sleep 0.1
  done
  [ -n "$id" ] || { cat "$T/pki-manual.log"; fail "$setup: no pending request"; }
  sleep 2
  log_has "$setup" "CertPoll txid="
  "$CERTA" ca approve --dir "$setup" "$id" >/dev/null
  wait "$client" || { cat "$T/pki-manual.log"; fail "$setup: pki did not collect the approved certificate"; }
  check_cert "$setup" "$setup-manual.der" DER
  ok "$setup: manual approval, CertPoll until approved"
  stop_certad
done
