#!/bin/bash
# docs/API.md is what tools/gen-api-doc writes from the schema's comments
# (stale otherwise), and every RPC, message, field and enum value has one.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d /tmp/metald-apidoc-XXXXXX)
trap 'rm -rf "$T"' EXIT
PASS=0
FAIL=0
if "$SRC/tools/gen-api-doc" --check --out "$T/API.md" "$SRC/schema" 2>"$T/err"; then
        PASS=$((PASS + 1)); echo "ok - every RPC, message, field and enum value of the schema has a comment"
else
        FAIL=$((FAIL + 1)); echo "not ok - undocumented in schema/vmprovisioner/v1/vm.proto:"; sed 's/^/    /' "$T/err"
fi
if diff -u "$SRC/docs/API.md" "$T/API.md" >"$T/diff"; then
        PASS=$((PASS + 1)); echo "ok - docs/API.md is up to date"
else
        FAIL=$((FAIL + 1))
        echo "not ok - docs/API.md is stale: run tools/gen-api-doc --out docs/API.md"
        head -40 "$T/diff" | sed 's/^/    /'
fi
# The generator really reads the comments: a changed comment changes the output.
mkdir -p "$T/schema/vmprovisioner/v1"
sed 's|// Pauses the vCPUs of a running VM.|// Freezes the guest (a test edit).|' "$SRC/schema/vmprovisioner/v1/vm.proto" \
        >"$T/schema/vmprovisioner/v1/vm.proto"
"$SRC/tools/gen-api-doc" --out "$T/edited.md" "$T/schema" 2>/dev/null
if grep -q '| `PauseVm` .*Freezes the guest (a test edit). |' "$T/edited.md"; then
        PASS=$((PASS + 1)); echo "ok - an edited comment shows in the reference"
else
        FAIL=$((FAIL + 1)); echo "not ok - an edited comment does not show in the reference"
fi
# ... and a missing one is named.
sed 's|  string kernel_args = 2;.*|  string kernel_args = 2;|' "$SRC/schema/vmprovisioner/v1/vm.proto" >"$T/schema/vmprovisioner/v1/vm.proto"
if ! "$SRC/tools/gen-api-doc" --check --out /dev/null "$T/schema" 2>"$T/err" &&
        grep -q 'no comment: field BootConfig.kernel_args' "$T/err"; then
        PASS=$((PASS + 1)); echo "ok - --check names an undocumented field"
else
        FAIL=$((FAIL + 1)); echo "not ok - --check did not name BootConfig.kernel_args: $(cat "$T/err")"
fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
