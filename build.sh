#!/usr/bin/env bash
# Builds MammothFast in Release and puts every tool in bin/ under the guide's names.
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)
out="$root/.build/tools"

dotnet build MammothFast.sln -c Release -nologo -clp:ErrorsOnly -v q

mkdir -p bin "$out"
for proj in tools/*/*.csproj; do
  name=$(basename "$(dirname "$proj")")
  [ "$name" = "Common" ] && continue
  dotnet publish "$proj" -c Release -nologo -v q -clp:ErrorsOnly -o "$out" --no-restore >/dev/null
  cat > "bin/$name" <<SH
#!/usr/bin/env bash
exec "$out/$name" "\$@"
SH
  chmod +x "bin/$name"
  echo "bin/$name"
done
