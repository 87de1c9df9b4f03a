#!/usr/bin/env bash
# The test command: unit and integration tests (real PostgreSQL from the local binaries), then the tool smoke tests.
set -euo pipefail
cd "$(dirname "$0")"
./build.sh >/dev/null
dotnet test MammothFast.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@"
for t in tests/smoke/*.sh; do
  [ "$(basename "$t")" = lib.sh ] && continue   # sourced by the others
  echo "== $t"
  bash "$t"
done
