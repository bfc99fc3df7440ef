#!/usr/bin/env bash
# Checks the library module's exported API against the committed v1
# baseline with apidiff (golang.org/x/exp/cmd/apidiff, pinned below).
#
#   bash internal/apidiff/check.sh          fail if the exported API differs
#   bash internal/apidiff/check.sh update   write a new baseline, on purpose
#
# Any difference fails, additions included: an addition is a promise too,
# so it lands only with a deliberate baseline update in the same change.
# The baseline is export data of the module as built for Linux with the Go
# version of go.mod; internal packages are not part of it.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=v0.0.0-20261113113407-e3970619a1a4
baseline=internal/apidiff/v1.export
module=github.com/tunnelstat/tunnelstat

tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
GOBIN=$tools go install "golang.org/x/exp/cmd/apidiff@$version"
# The library module alone: the workspace's other modules are not its API.
export GOWORK=off GOOS=linux

if [ "${1:-}" = update ]; then
	"$tools/apidiff" -m -w "$baseline" "$module" 2> >(grep -v '^Ignoring internal package' >&2)
	echo "wrote $baseline"
	exit 0
fi
diff=$("$tools/apidiff" -m "$baseline" "$module" 2> >(grep -v '^Ignoring internal package' >&2))
if [ -n "$diff" ]; then
	echo "The exported API differs from the v1 baseline ($baseline):"
	echo "$diff"
	echo "If the change is deliberate, run: bash internal/apidiff/check.sh update"
	exit 1
fi
echo "exported API: as the v1 baseline"
