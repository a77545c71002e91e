#!/usr/bin/env bash
# Source binding of enrollment (issue 4 item 7) with namespaces this test
# creates: micromdm's scepserver runs inside a network namespace, on its
# own loopback (unreachable from the host's); a trustpoint with --netns
# enrolls through it, one without cannot reach it. A veth pair carries
# --interface binding; --source-ip 127.0.0.2 is what a relay on the host
# sees as the peer. Needs root (namespaces, veth); skipped otherwise.
source "$(dirname "$0")/enroll_common.sh"
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: network namespaces need root"; exit 77; fi
command -v scepserver >/dev/null || { echo "SKIP: scepserver (package scep) not installed"; exit 77; }
command -v ip >/dev/null || { echo "SKIP: ip (iproute2) not installed"; exit 77; }

NS="certa-test-$$"
VH="cvh$$"; VN="cvn$$"; WX="cwx$$"; WY="cwy$$"
ip netns add "$NS"
CLEANUPS+=("ip netns del $NS 2>/dev/null" "ip link del $VH 2>/dev/null" "ip link del $WX 2>/dev/null")
ip -n "$NS" link set lo up
ip link add "$VH" type veth peer name "$VN"
ip link set "$VN" netns "$NS"
ip addr add 10.213.7.1/30 dev "$VH"
ip link set "$VH" up
ip -n "$NS" addr add 10.213.7.2/30 dev "$VN"
ip -n "$NS" link set "$VN" up
# A second pair that leads nowhere: the wrong interface to bind to.
ip link add "$WX" type veth peer name "$WY"
ip addr add 10.213.9.1/30 dev "$WX"
ip link set "$WX" up
ip link set "$WY" up

PORT=$(free_port)
mkdir -p "$T/mdm"
(cd "$T/mdm" && scepserver ca -init >/dev/null 2>&1)
(cd "$T/mdm" && exec ip netns exec "$NS" scepserver -depot depot -port "$PORT" -challenge pw >server.log 2>&1) &
PIDS+=($!)
for i in $(seq 1 100); do
    ip netns exec "$NS" curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/scep?operation=GetCACaps" && break
    sleep 0.1
done
CA="$T/mdm/depot/ca.pem"
fp=$(openssl x509 -in "$CA" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
URL="http://127.0.0.1:$PORT/scep"
curl -s -o /dev/null --max-time 2 "$URL?operation=GetCACaps" && fail "the namespace's server is reachable from the host's loopback"

# --- netns ---------------------------------------------------------------
"$CERTA" trustpoint add inns --protocol scep --url "$URL" --netns "$NS" --fingerprint "sha256:$fp" \
    --challenge pw --subject CN=ns.example.com --legacy
"$CERTA" ca authenticate inns >/dev/null
"$CERTA" enroll inns >/dev/null
openssl verify -CAfile "$CA" "$CERTA_STATE/trustpoints/inns/cert.pem" >/dev/null || fail "netns enrollment"
ok "enrolled through network namespace $NS"

"$CERTA" trustpoint add outside --protocol scep --url "$URL" --fingerprint "sha256:$fp" --challenge pw \
    --subject CN=out.example.com --legacy
expect_fail 1 "unreachable" "$CERTA" ca authenticate outside --yes
cp "$CERTA_STATE/trustpoints/inns/ca.pem" "$CERTA_STATE/trustpoints/outside/ca.pem"
"$CERTA" key generate --label outside --type rsa:2048
expect_fail 1 "unreachable" "$CERTA" enroll outside
[ ! -e "$CERTA_STATE/trustpoints/outside/cert.pem" ] || fail "enrolled without the namespace"
ok "without --netns the server is unreachable, nothing changed"

"$CERTA" trustpoint add nons --protocol scep --url "$URL" --netns "certa-none-$$" --challenge pw
expect_fail 1 "certa-none-$$" "$CERTA" ca authenticate nons --yes
ok "a namespace that does not exist is named in the error"

# --- interface (veth) -------------------------------------------------------
VURL="http://10.213.7.2:$PORT/scep"
"$CERTA" trustpoint add veth --protocol scep --url "$VURL" --interface "$VH" --fingerprint "sha256:$fp" \
    --challenge pw --subject CN=veth.example.com --legacy
"$CERTA" ca authenticate veth >/dev/null
"$CERTA" enroll veth >/dev/null
openssl verify -CAfile "$CA" "$CERTA_STATE/trustpoints/veth/cert.pem" >/dev/null || fail "veth enrollment"
"$CERTA" trustpoint add wrongif --protocol scep --url "$VURL" --interface "$WX" --fingerprint "sha256:$fp"
expect_fail 1 "$VURL" "$CERTA" ca authenticate wrongif --yes
ok "--interface $VH reaches the CA over the veth pair, --interface $WX does not"

# --- source address seen by the server ---------------------------------------
RPORT=$(free_port)
cat >relay.py <<'PY'
import http.server, sys, urllib.request, urllib.error
port, upstream, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def relay(self, body=None):
        open(log, "a").write(self.client_address[0] + " " + self.command + "\n")
        req = urllib.request.Request(upstream + self.path, data=body, method=self.command)
        if body is not None:
            req.add_header("Content-Type", self.headers.get("Content-Type", "application/octet-stream"))
        try:
            r = urllib.request.urlopen(req, timeout=10); code, data, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            code, data, ctype = e.code, e.read(), "text/plain"
        self.send_response(code); self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data))); self.end_headers(); self.wfile.write(data)
    def do_GET(self): self.relay()
    def do_POST(self): self.relay(self.rfile.read(int(self.headers["Content-Length"])))
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
# The relay runs on the host's loopback and forwards over the veth pair.
python3 relay.py "$RPORT" "http://10.213.7.2:$PORT" "$T/peers.log" &
PIDS+=($!)
wait_http "http://127.0.0.1:$RPORT/scep?operation=GetCACaps"
: >"$T/peers.log"
"$CERTA" trustpoint add src --protocol scep --url "http://127.0.0.1:$RPORT/scep" --source-ip 127.0.0.2 \
    --fingerprint "sha256:$fp" --challenge pw --subject CN=src.example.com --legacy
"$CERTA" ca authenticate src >/dev/null
"$CERTA" enroll src >/dev/null
openssl verify -CAfile "$CA" "$CERTA_STATE/trustpoints/src/cert.pem" >/dev/null || fail "source-ip enrollment"
[ -s "$T/peers.log" ] || fail "the relay saw no request"
if grep -v '^127\.0\.0\.2 ' "$T/peers.log"; then fail "a request did not come from 127.0.0.2"; fi
grep -q '^127\.0\.0\.2 POST$' "$T/peers.log" || fail "no PKIOperation POST from 127.0.0.2"
ok "every request came from --source-ip 127.0.0.2 ($(wc -l <"$T/peers.log") requests)"

# --- and as certad's request log sees it ----------------------------------
if [ -x "${CERTA_BIN}/certad" ]; then
    "$CERTA" ca init --dir cad --subject "CN=Source CA" --key rsa:2048 >/dev/null
    CPORT=$(free_port)
    "${CERTA_BIN}/certad" --dir cad --listen "127.0.0.1:$CPORT" --workers 1 >cad/certad.log 2>&1 &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$CPORT/healthz"
    cpw=$("$CERTA" ca challenge create --dir cad 2>/dev/null)
    "$CERTA" trustpoint add csrc --protocol scep --url "http://127.0.0.1:$CPORT/scep" --source-ip 127.0.0.2 \
        --challenge "$cpw" --subject CN=csrc.example.com
    "$CERTA" ca authenticate csrc --yes >/dev/null
    "$CERTA" enroll csrc >/dev/null
    grep 'path=/scep' cad/certad.log | grep -v 'remote=127\.0\.0\.2:' && fail "certad saw a request from elsewhere"
    grep -q 'remote=127\.0\.0\.2:.*method=POST path=/scep' cad/certad.log || fail "certad saw no POST from 127.0.0.2"
    ok "certad's request log shows every SCEP request from 127.0.0.2"
fi
