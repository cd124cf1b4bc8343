# Sourced by the gate scripts: start servers in the background, learn their URLs from their
# output, and stop them all when the script exits.

LOGS=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# start NAME CMD...: runs a server that prints "... listening on http://ADDR" in the
# background and sets URL to its address. Not to be called in $(...): the server's pid must
# reach this shell's list, or nothing stops it at exit.
start() {
    local name=$1; shift
    "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" &
    pids+=($!)
    URL=
    for _ in $(seq 100); do
        URL=$(grep -o 'http://[0-9.:]*' "$LOGS/$name.out" | head -1 || true)
        if [ -n "$URL" ]; then return; fi
        sleep 0.1
    done
    echo "$name did not start; its log:" >&2; cat "$LOGS/$name.err" >&2; exit 2
}
