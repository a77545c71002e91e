# Manual approval: a profile with approval = manual parks requests (exit 5,
# request id printed); ca requests lists them; ca approve issues (checked
# with openssl verify); ca reject refuses; finished requests cannot be
# approved or rejected again and nothing changes when that is tried.
source "$(dirname "$0")/ca_common.sh"

"$CERTA" ca init --dir ca --subject "CN=Approval CA" >/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout a.key -subj "/CN=dev-a" -out a.csr 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout b.key -subj "/CN=dev-b" -out b.csr 2>/dev/null

rc=0; "$CERTA" ca issue --dir ca --csr a.csr --profile manual >out 2>err || rc=$?
[ $rc = 5 ] || fail "pending request exit code $rc"
ida=$(sed -n 's/^request_id=//p' out)
[ -n "$ida" ] || fail "no request id printed"
[ "$(counts ca)" = "0 1" ] || fail "pending request: counts $(counts ca)"
rc=0; "$CERTA" ca issue --dir ca --csr b.csr --profile manual >out 2>/dev/null || rc=$?
idb=$(sed -n 's/^request_id=//p' out)
[ $rc = 5 ] && [ -n "$idb" ] || fail "second pending request"
"$CERTA" ca requests --dir ca --json | python3 -c '
import json, sys
a = json.load(sys.stdin)
assert [r["status"] for r in a] == ["pending", "pending"], a
assert a[0]["subject"] == "CN=dev-a" and a[0]["profile"] == "manual", a'
"$CERTA" ca requests --dir ca | grep -q "CN=dev-b" || fail "table listing"
ok "manual profile parks requests"

"$CERTA" ca approve --dir ca "$ida" --out a.crt >/dev/null
openssl verify -CAfile ca/ca.crt a.crt >/dev/null || fail "approved certificate does not verify"
openssl x509 -in a.crt -noout -subject | grep -q "CN = dev-a" || fail "approved certificate subject"
[ "$(counts ca)" = "1 2" ] || fail "after approve: counts $(counts ca)"
"$CERTA" ca list --dir ca --json | python3 -c '
import json, sys; a = json.load(sys.stdin); assert len(a) == 1 and a[0]["profile"] == "manual", a'
ok "approve issues the certificate"

"$CERTA" ca reject --dir ca "$idb" --reason "unknown device" >/dev/null
"$CERTA" ca requests --dir ca --all --json | python3 -c '
import json, sys
a = {r["subject"]: r for r in json.load(sys.stdin)}
assert a["CN=dev-a"]["status"] == "issued" and a["CN=dev-a"]["serial"], a
assert a["CN=dev-b"]["status"] == "rejected" and a["CN=dev-b"]["reason"] == "unknown device", a'
[ "$(sqlite3 ca/ca.db 'select count(*) from certificates')" = 1 ] || fail "reject issued something"
ok "reject refuses the request"

expect_fail ca "not pending" ca approve --dir ca "$ida"
expect_fail ca "not pending" ca approve --dir ca "$idb"
expect_fail ca "not pending" ca reject --dir ca "$ida"
expect_fail ca "not found\|no request\|no such" ca approve --dir ca 999
[ "$LAST_RC" = 3 ] || fail "unknown request exit code $LAST_RC"
rc=0; "$CERTA" ca approve --dir ca abc 2>/dev/null || rc=$?
[ $rc = 2 ] || fail "bad request id exit code $rc"
ok "finished and unknown requests refused"

# A CSR the profile forbids is refused at once, not parked.
openssl req -new -newkey rsa:1024 -nodes -keyout w.key -subj "/CN=weak" -out w.csr 2>/dev/null
expect_fail ca "rsa:1024" ca issue --dir ca --csr w.csr --profile manual
ok "policy applies before approval"

# The default profile still issues at once.
"$CERTA" ca issue --dir ca --csr b.csr >/dev/null
echo "all ca approval tests passed"
