#!/usr/bin/env bash
# gateway-sim past one instance: two shards behind nginx, sharded by merchant.
#
# Starts two gateway-sim instances on loopback, nginx in front of them (consistent hash on the
# Authorization header, so every request of one merchant API key goes to one shard), then two
# loadgen workers (--worker 1/2 and 2/2, in parallel) driving nginx with 16 merchants, and:
#   1. each worker reads the ledger from BOTH shards (--ledger), not through nginx;
#   2. `loadgen merge` of the two workers, checked against both ledgers, passes;
#   3. `loadgen check --ledger shard1,shard2 --outcomes merged/outcomes.ndjson` passes;
#   4. the same check with one shard's ledger alone FAILS (that shard's merchants' orders look
#      lost), so both shards really served traffic and the check sees the difference;
#   5. no merchant has ledger entries on both shards, and both shards hold some.
#
# nginx comes from Debian's packages (installed here if missing, when run as root) and runs in
# the foreground with its own config in a temporary directory, listening on 127.0.0.1 only.
# Needs: cargo, curl. Takes about 15 s after the release build. Exit 0 when everything holds.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "shard-test: $*"; }
fail() { echo "shard-test: FAIL: $*" >&2; exit 1; }

nginx_bin=$(command -v nginx || true)
[ -z "$nginx_bin" ] && [ -x /usr/sbin/nginx ] && nginx_bin=/usr/sbin/nginx
if [ -z "$nginx_bin" ]; then
    if [ "$(id -u)" != 0 ]; then
        fail "nginx is not installed; run: sudo apt-get install -y nginx"
    fi
    say "installing nginx from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq nginx >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null && apt-get install -y -qq nginx >/dev/null; }
    nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
    [ -x "$nginx_bin" ] || fail "nginx did not install"
fi
command -v curl >/dev/null || fail "curl is needed to read the shards' ledgers"

# --workspace --all-targets: the same feature set as `cargo test --workspace`, so
# after the tests this builds nothing (a narrower build would recompile dependencies).
cargo build --release --quiet --workspace --all-targets
sim=target/release/gateway-sim
loadgen=target/release/loadgen

tmp=$(mktemp -d "${TMPDIR:-/tmp}/shard-test.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "${KEEP:-0}" = 1 ]; then say "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# The shards' behaviour, and loadgen's load: a little latency, no faults, 16 merchants so
# both shards get some (all 16 on one shard has odds of 2 in 65,536).
cat >"$tmp/sharded.toml" <<'EOF'
[gateway]
latency = { distribution = "constant", value = "1ms" }

[load]
rate = 300
duration = "3s"
users = 32
seed = 5
merchants = 16
timeout = "2s"
settle = "300ms"

[load.mix]
purchase = 3
auth_capture = 2
auth_cancel = 1
purchase_refund = 1
double_submit = 1
retry_same_key = 1

[checks]
max_error_rate = 0.0
EOF

# Starts a shard on a free loopback port and waits until it listens; its URL goes in $shard_url.
# (Not in a $(...) subshell: the pid must reach the cleanup list.)
start_shard() {
    local name=$1
    "$sim" --listen 127.0.0.1:0 --scenario "$tmp/sharded.toml" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pids+=($!)
    shard_url=""
    for _ in $(seq 100); do
        shard_url=$(sed -n 's/^gateway-sim listening on \(http:[^ ]*\).*/\1/p' "$tmp/$name.out")
        [ -n "$shard_url" ] && return 0
        sleep 0.1
    done
    fail "$name did not start: $(cat "$tmp/$name.err")"
}
start_shard shard1
shard1=$shard_url
start_shard shard2
shard2=$shard_url
say "shards $shard1 $shard2"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
        || echo $((20000 + RANDOM % 20000))
}
port=$(free_port)
mkdir -p "$tmp/nginx"
chmod 0755 "$tmp" "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    upstream gateway_sim {
        # One merchant, one shard: every request carries the merchant's API key.
        hash \$http_authorization consistent;
        server ${shard1#http://};
        server ${shard2#http://};
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://gateway_sim;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # Never replay a payment request on the other shard: it holds none of the
            # merchant's state, and the first shard may have charged already.
            proxy_next_upstream off;
        }
    }
}
EOF
"$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx/stderr" &
pids+=($!)
proxy="http://127.0.0.1:$port"
for _ in $(seq 50); do
    curl -fsS -o /dev/null "$proxy/_sim/health" 2>/dev/null && break
    sleep 0.1
done
curl -fsS -o /dev/null "$proxy/_sim/health" \
    || fail "nginx does not answer on $proxy: $(cat "$tmp/nginx/stderr" "$tmp/nginx/error.log" 2>/dev/null)"
say "nginx $proxy"

ledgers="$shard1,$shard2"
workers=()
for i in 1 2; do
    "$loadgen" run --quiet --scenario "$tmp/sharded.toml" --target "$proxy" --ledger "$ledgers" \
        --worker "$i/2" --report-dir "$tmp/worker-$i" >"$tmp/worker-$i.log" 2>&1 &
    workers+=($!)
done
for i in 1 2; do
    wait "${workers[$((i - 1))]}" || fail "worker $i/2 failed: $(cat "$tmp/worker-$i.log")"
done
say "workers 1/2 and 2/2 passed their own checks"

"$loadgen" merge "$tmp/worker-1" "$tmp/worker-2" --ledger "$ledgers" --scenario "$tmp/sharded.toml" \
    --report-dir "$tmp/merged" >"$tmp/merge.log" 2>&1 || fail "merge failed: $(cat "$tmp/merge.log")"
grep -E '^(orders|rate|money|result)' "$tmp/merge.log" | sed 's/^/  /'

"$loadgen" check --ledger "$ledgers" --outcomes "$tmp/merged/outcomes.ndjson" >"$tmp/check.log" 2>&1 \
    || fail "the check over both shards failed: $(cat "$tmp/check.log")"
say "check over both shards: $(grep '^checked' "$tmp/check.log")"

set +e
"$loadgen" check --ledger "$shard1" --outcomes "$tmp/merged/outcomes.ndjson" >"$tmp/check-one.log" 2>&1
one=$?
set -e
[ "$one" = 1 ] || fail "the check against shard 1 alone should fail (exit 1), got $one: $(cat "$tmp/check-one.log")"
say "check against shard 1 alone fails as it must ($(grep -o 'lost [0-9]*' "$tmp/check-one.log") charges)"

merchants() {
    curl -fsS "$1/_sim/ledger" | grep -o '"merchant":"[^"]*"' | sort -u
}
merchants "$shard1" >"$tmp/merchants-1"
merchants "$shard2" >"$tmp/merchants-2"
n1=$(wc -l <"$tmp/merchants-1")
n2=$(wc -l <"$tmp/merchants-2")
both=$(comm -12 "$tmp/merchants-1" "$tmp/merchants-2" | wc -l)
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] || fail "a shard got no traffic ($n1 and $n2 merchants)"
[ "$both" = 0 ] || fail "$both merchants have entries on both shards: $(comm -12 "$tmp/merchants-1" "$tmp/merchants-2" | tr '\n' ' ')"
[ $((n1 + n2)) = 16 ] || fail "expected 16 merchants over both shards, got $n1 + $n2"
say "merchants: $n1 on shard 1, $n2 on shard 2, none on both"
echo "shard-test: 5 passed, 0 failed"
