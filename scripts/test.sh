#!/usr/bin/env bash
# test.sh is the project's test command (the README's second command):
# formatting, vet, every test (conformance files and kernel differential
# tests included), and short fuzzing of the parsers and the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt needed:"; echo "$unformatted"; exit 1
fi
go vet ./...
go build -o bin/gobee ./cmd/gobee
go test -count=1 ./...

# Brief fuzzing: no input may crash the host.
fuzz() { go test -run '^$' -fuzz "^$1\$" -fuzztime "${FUZZTIME:-10s}" "$2"; }
fuzz FuzzDecode ./isa
fuzz FuzzAssemble ./isa
fuzz FuzzRunChecked ./interp
fuzz FuzzParse ./conformance
