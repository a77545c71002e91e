#!/usr/bin/env bash
# certad's startup errors: a bad config file, an unknown key or option, a CA
# directory that is missing or not a CA, a wrong or missing passphrase, an
# address in use. Each is one clear line on stderr and a non-zero exit, and
# nothing is left listening. Also --help and --check.
source "$CERTA_SRC/tests/integration/ca_common.sh"
source "$CERTA_SRC/tests/integration/certad_common.sh"

# expect_certad_fail RC TEXT ARGS...: certad exits RC with one stderr line containing TEXT.
expect_certad_fail() {
  local want_rc=$1 want=$2; shift 2
  local rc=0
  timeout 10 "$CERTAD" "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = "$want_rc" ] || { cat "$T/err" >&2; fail "certad $*: exit $rc, want $want_rc"; }
  [ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err" >&2; fail "certad $*: expected one line on stderr"; }
  grep -qi -- "$want" "$T/err" || { cat "$T/err" >&2; fail "certad $*: error does not mention '$want'"; }
}

make_ca "$T/ca"
port=$(free_port)

"$CERTAD" --help >"$T/help"
grep -q -- "--dir CA_DIR" "$T/help" && grep -q -- "--config FILE" "$T/help" || fail "--help text"
ok "--help prints the usage and exits 0"

expect_certad_fail 2 "unknown option '--bogus'" --bogus
expect_certad_fail 2 "needs a value" --dir
expect_certad_fail 2 "give --config FILE or --dir" 
expect_certad_fail 2 "--workers" --dir "$T/ca" --workers 0
expect_certad_fail 2 "unexpected argument" --dir "$T/ca" extra
ok "unknown or incomplete options: one line, exit 2"

expect_certad_fail 1 "no such\|not found\|cannot" --config "$T/missing.conf"
printf '[server\nlisten = 127.0.0.1:%s\n' "$port" >"$T/syntax.conf"
expect_certad_fail 1 "syntax.conf:1: syntax error" --config "$T/syntax.conf"
printf '[server]\nlisten = 127.0.0.1:%s\nworkerz = 2\n[ca]\ndir = ca\n' "$port" >"$T/key.conf"
expect_certad_fail 1 "key.conf:3: unknown key 'workerz' in \[server\]" --config "$T/key.conf"
printf '[server]\nlisten = 127.0.0.1:%s\nmax_body = huge\n[ca]\ndir = ca\n' "$port" >"$T/val.conf"
expect_certad_fail 1 "max_body = huge" --config "$T/val.conf"
printf '[server]\nlisten = 127.0.0.1\n[ca]\ndir = ca\n' >"$T/addr.conf"
expect_certad_fail 1 "bad listen address" --config "$T/addr.conf"
printf '[server]\nlisten = 127.0.0.1:%s\n' "$port" >"$T/nodir.conf"
expect_certad_fail 1 "no CA directory" --config "$T/nodir.conf"
printf '[server]\nlisten = 127.0.0.1:%s\ntls_listen = 127.0.0.1:%s\n[ca]\ndir = ca\n' "$port" "$(free_port)" >"$T/tls.conf"
expect_certad_fail 1 "tls_cert" --config "$T/tls.conf"
printf '[server]\nlisten = 127.0.0.1:%s\n[services]\nscpe = off\n[ca]\ndir = ca\n' "$port" >"$T/svc.conf"
expect_certad_fail 1 "\[services\] scpe: no such service" --config "$T/svc.conf"
ok "bad config files: one line naming the file, line and key, exit 1"

expect_certad_fail 1 "not a CA directory" --dir "$T/nowhere" --listen "127.0.0.1:$port"
mkdir "$T/empty"
expect_certad_fail 1 "not a CA directory" --dir "$T/empty" --listen "127.0.0.1:$port"
cp -r "$T/ca" "$T/broken"
rm "$T/broken/ca.key"
expect_certad_fail 1 "ca.key" --dir "$T/broken" --listen "127.0.0.1:$port"
ok "a CA directory that is missing, empty or without its key: one line, exit 1"

echo "correct horse" >"$T/pass"
echo "wrong horse" >"$T/wrong"
make_ca "$T/enc" --passphrase-file "$T/pass"
expect_certad_fail 1 "passphrase" --dir "$T/enc" --listen "127.0.0.1:$port"
expect_certad_fail 1 "wrong passphrase" --dir "$T/enc" --listen "127.0.0.1:$port" --passphrase-file "$T/wrong"
CERTA_CA_PASSPHRASE="wrong horse" expect_certad_fail 1 "wrong passphrase" --dir "$T/enc" --listen "127.0.0.1:$port"
expect_certad_fail 1 "passphrase file" --dir "$T/enc" --listen "127.0.0.1:$port" --passphrase-file "$T/nothing"
ok "an encrypted CA key without or with a wrong passphrase: one line, exit 1"

start_certad "http://127.0.0.1:$port" --dir "$T/enc" --listen "127.0.0.1:$port" --passphrase-file "$T/pass"
ok "the right --passphrase-file opens the encrypted key"
# The address is taken now.
expect_certad_fail 1 "cannot listen on 127.0.0.1:$port" --dir "$T/ca" --listen "127.0.0.1:$port"
stop_certad
CERTA_CA_PASSPHRASE="correct horse" start_certad "http://127.0.0.1:$port" --dir "$T/enc" --listen "127.0.0.1:$port"
stop_certad
ok "CERTA_CA_PASSPHRASE opens it too; an address in use is one line, exit 1"

# Nothing listens after the failures.
curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && fail "something still listens on $port"

"$CERTAD" --config "$T/key.conf" --check >/dev/null 2>&1 && fail "--check accepted a bad file"
printf '[server]\nlisten = 127.0.0.1:%s\n[ca]\ndir = ca\n' "$port" >"$T/good.conf"
"$CERTAD" --config "$T/good.conf" --check >"$T/out" 2>&1 || { cat "$T/out"; fail "--check refused a good file"; }
grep -q "configuration OK" "$T/out" || fail "--check output"
ok "--check validates config and CA without serving"
