#!/usr/bin/env bash
# Install the Debian packages a make target needs. Usage: scripts/deps.sh GROUP...
# Each group is a list in scripts/deps/GROUP.txt (one package a line, '#'
# comments).  Only missing packages are installed; apt-get update runs once
# per machine and only when something is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
want=()
for g in "$@"; do
  f="$here/deps/$g.txt"
  [ -f "$f" ] || { echo "deps.sh: no package list $f" >&2; exit 2; }
  while read -r pkg _; do
    [ -z "$pkg" ] || [ "${pkg#\#}" != "$pkg" ] && continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || want+=("$pkg")
  done < "$f"
done
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
echo "deps.sh: installing ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/periodic/loom-update-stamp
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +360 2>/dev/null)" ]; then
  $SUDO apt-get update -qq || true
  $SUDO mkdir -p "$(dirname "$stamp")" && $SUDO touch "$stamp" || true
fi
$SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
