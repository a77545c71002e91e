#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking certa
# needs. Idempotent: a machine that already has them installs nothing.
# Runs as root (or through sudo when it is there).
set -euo pipefail

build=(build-essential cmake pkg-config libssl-dev openssl libevent-dev
       libsqlite3-dev sqlite3 libjansson-dev libinih-dev
       libldap-dev libpq-dev libcmocka-dev libmimalloc-dev)
peers=(python3 python3-cryptography certmonger strongswan-pki
       libstrongswan-extra-plugins libstrongswan-standard-plugins scep
       slapd ldap-utils postgresql iproute2 curl dbus-daemon tinyproxy)
# The CMP and SCEP load drivers (bench/*/*_load.c) post through libcurl.
bench=(wrk nginx-light apache2-utils time libcurl4-openssl-dev valgrind)
# libFuzzer harnesses (scripts/fuzz.sh): clang and its fuzzer runtime.
fuzz=(clang libclang-rt-dev)

want=("${build[@]}" "${peers[@]}" "${fuzz[@]}")
[ "${CERTA_DEPS_BENCH:-1}" = 1 ] && want+=("${bench[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine.
$SUDO apt-get update -qq
# Services pulled in as dependencies (slapd, postgresql, nginx) must not start
# on install: the tests start their own instances on loopback ports.
policy=/usr/sbin/policy-rc.d
had_policy=0; [ -e $policy ] && had_policy=1
[ $had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' | $SUDO tee $policy >/dev/null; $SUDO chmod 755 $policy; }
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
[ $had_policy = 1 ] || $SUDO rm -f $policy
