#!/usr/bin/env bash
# test.sh is the project's test command (the README's second command):
# formatting, vet, every test (conformance files and kernel differential
# tests included), and short fuzzing of the parsers and the interpreter.
# It ends with the counts the differential and conformance tests report.
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt needed:"; echo "$unformatted"; exit 1
fi
go vet ./...
# gobee runs on any OS Go runs on: every package (tests included) must
# type-check and vet for other hosts too.
for target in darwin/arm64 windows/amd64 freebsd/amd64; do
	GOOS=${target%/*} GOARCH=${target#*/} go vet ./...
done
go build -o bin/gobee ./cmd/gobee

# go test hides a passing package's output; keep the verbose log and show
# the package results and every "compared"/"passed" count from it.
log=$(mktemp)
if ! go test -count=1 -v ./... >"$log" 2>&1; then
	grep -E -B2 -A30 -- '^(--- FAIL|FAIL|panic:)' "$log" | head -300
	echo "tests failed; full log: $log"
	exit 1
fi
grep -E '^(ok|FAIL|\?)\s' "$log" || true
grep -E -o '[a-z]+: (compared [0-9]+|[0-9]+ files passed).*' "$log" | sort -u || true
rm -f "$log"

# The race detector over the packages where runs, maps and processes meet.
go test -race -count=1 ./interp ./maps/... ./objects >/dev/null && echo "race: interp, maps, objects clean"

# Brief fuzzing: no input may crash the host.
fuzz() { go test -run '^$' -fuzz "^$1\$" -fuzztime "${FUZZTIME:-10s}" "$2" >/dev/null && echo "fuzz $1 ($2): ok"; }
fuzz FuzzDecode ./isa
fuzz FuzzAssemble ./isa
fuzz FuzzRunChecked ./interp
fuzz FuzzParse ./conformance
fuzz FuzzDifferential ./difftest
fuzz FuzzReader ./pcap
fuzz FuzzParseFileHeader ./maps
fuzz FuzzLoad ./loader
