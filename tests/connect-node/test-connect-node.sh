#!/bin/bash
# Every RPC of metald through a Connect client generated from schema/*.proto
# with buf + protoc-gen-es and run on @connectrpc/connect-node, with the JSON
# and the binary codec, by POST and by Connect GET (tests/connect-node/README.md).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SCHEMA=$(cd "$HERE/../../schema" && pwd)

# The npm packages, pinned by package-lock.json, live outside the clone in a
# cache keyed by the lock's hash; fetched (before the test's private network
# namespace, which has no route out) only when missing.
if [ -z "${METALD_TEST_NS:-}" ]; then
        for tool in node npm; do
                command -v $tool >/dev/null || { echo "$tool is missing (tools/install-deps installs it)"; exit 1; }
        done
        hash=$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -c1-16)
        cache=${METALD_NPM_CACHE:-/var/cache/metald/npm}/$hash
        if [ ! -x "$cache/node_modules/.bin/tsc" ] || [ ! -x "$cache/node_modules/.bin/buf" ]; then
                mkdir -p "$(dirname "$cache")"
                tmp=$(mktemp -d "$cache.tmp-XXXXXX")
                cp "$HERE/package.json" "$HERE/package-lock.json" "$tmp/"
                # npm install, not npm ci: the lock pins every version, but the
                # registry mirror lacks buf's binaries for other platforms, which
                # npm ci wants listed. Install scripts are not needed (buf's bin
                # finds its platform package itself).
                if ! (cd "$tmp" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error); then
                        rm -rf "$tmp"
                        echo "npm install failed"
                        exit 1
                fi
                mv -T "$tmp" "$cache" 2>/dev/null || rm -rf "$tmp" # a parallel run got there first
        fi
        export CONNECT_NODE_MODULES=$cache/node_modules
fi

. "$HERE/../integration/lib.sh"
W=$T/connect-node
mkdir -p "$W"
cp -r "$HERE/src" "$HERE/package.json" "$HERE/tsconfig.json" "$HERE/buf.gen.yaml" "$W/"
ln -s "$CONNECT_NODE_MODULES" "$W/node_modules"
export PATH=$W/node_modules/.bin:$PATH BUF_CACHE_DIR=$T/buf-cache
if (cd "$W" && buf generate "$SCHEMA" --template buf.gen.yaml) >"$T/gen.log" 2>&1; then
        ok "buf generate: TypeScript from schema/*.proto"
else
        not_ok "buf generate: $(cat "$T/gen.log")"
fi
check "the generated client has the service" "$(grep -c 'export const VmService' "$W/src/gen/vmprovisioner/v1/vm_pb.ts" 2>/dev/null)" 1
if (cd "$W" && tsc -p .) >"$T/tsc.log" 2>&1; then
        ok "tsc compiles the test against the generated client"
else
        not_ok "tsc: $(head -20 "$T/tsc.log")"
fi

for m in json binary json-get binary-get extra; do truncate -s 64M "$ASSETS/rootfs-$m.ext4"; done
# --max-vms 1: each mode has one live VM at a time (the previous mode's is
# deleted), so a second one shows resource_exhausted.
start_metald --metrics-interval 0.2 --max-vms 1 || exit 1
METALD_URL=$URL ASSETS=$ASSETS node "$W/out/every-rpc.js" | tee "$T/node.log"
last=$(tail -1 "$T/node.log")
if [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        PASS=$((PASS + BASH_REMATCH[1]))
        FAIL=$((FAIL + BASH_REMATCH[2]))
        check "the node client ran its checks" "$((BASH_REMATCH[1] > 100))" 1
else
        not_ok "the node client did not finish: $last"
fi
finish
