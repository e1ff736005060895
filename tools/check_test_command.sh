#!/usr/bin/env bash
# The README's test command must never replay a pass for code it did not test. Run right after
# a full `npx nx test` (CI does), so the cache is warm: a failing test added to a lib must make
# `npx nx test` fail; removed again, it passes (from the cache). As a user runs it: no
# NX_SKIP_NX_CACHE, and the probe is a real file in the real workspace, removed on every exit.
#
#   bash tools/check_test_command.sh
set -uo pipefail
cd "$(dirname "$0")/.."
unset NX_SKIP_NX_CACHE NX_DISABLE_NX_CACHE

probe=libs/spec/src/zz_cache_probe_test.ts
log=$(mktemp)
trap 'rm -f "$probe" "$log"' EXIT
printf "test('the cache probe fails on purpose', () => {\n  expect(1).toBe(2);\n});\n" > "$probe"

echo "== test command: a failing test added after a passing run ($probe)"
npx nx test > "$log" 2>&1
code=$?
if [ "$code" -eq 0 ]; then
  tail -n 30 "$log"
  echo "check_test_command: FAILED: npx nx test exited 0 with a failing test in $probe (a replayed pass)"
  exit 1
fi
if ! grep -q 'the cache probe fails on purpose' "$log"; then
  tail -n 30 "$log"
  echo "check_test_command: FAILED: npx nx test exited $code without running $probe"
  exit 1
fi
echo "npx nx test exited $code and named the failing test"

rm -f "$probe"
echo "== test command: the probe removed"
if ! npx nx test > "$log" 2>&1; then
  tail -n 60 "$log"
  echo "check_test_command: FAILED: npx nx test failed once the probe was removed"
  exit 1
fi
cache=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E 'Nx read the output from the cache|existing outputs match the cache' | head -n 1)
echo "npx nx test exited 0 (${cache:-no task from the cache})"
echo "check_test_command: 2 passed, 0 failed"
