#!/usr/bin/env bash
# Installs the Debian bookworm packages pnmvp needs (only the missing ones),
# as root or through sudo. Safe to run again.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config libsystemc-dev verilator libeigen3-dev
      libfmt-dev libgtest-dev nlohmann-json3-dev libcli11-dev gcc-riscv64-unknown-elf
      picolibc-riscv64-unknown-elf libunicorn-dev python3 python3-numpy python3-matplotlib)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
