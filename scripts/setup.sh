#!/usr/bin/env bash
# Install the Debian packages attestd needs to build and test (one per line
# in scripts/deps.txt).  Idempotent: when every package is already present
# it does nothing; otherwise it runs `apt-get update` and then
# `apt-get install -y` on the whole list.  Set AV_SETUP_FORCE=1 to always
# run apt-get.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
deps="$here/deps.txt"

mapfile -t pkgs < <(sed -e 's/#.*//' "$deps" | awk 'NF { print $1 }' | sort -u)
if [ "${#pkgs[@]}" -eq 0 ]; then
	echo "setup: $deps lists no packages" >&2
	exit 1
fi

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ] && [ "${AV_SETUP_FORCE:-0}" != 1 ]; then
	echo "setup: all ${#pkgs[@]} packages from scripts/deps.txt are installed"
	exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
		exit 1
	fi
	sudo=(sudo)
fi

echo "setup: installing ${missing[*]:-(forced)}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y "${pkgs[@]}"
