#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only those missing.
# Runs as root on a fresh Debian 12 machine (CI); does nothing when all are there.
set -euo pipefail

# command → Debian package that provides it
declare -A need=(
  [debootstrap]=debootstrap
  [rpm]=rpm
  [rpmbuild]=rpm
  [dnf]=dnf
  [zypper]=zypper
  [createrepo_c]=createrepo-c
  [wine]=wine
  [wineboot]=wine
  [x86_64-w64-mingw32-gcc]=gcc-mingw-w64-x86-64
  [x86_64-w64-mingw32-windres]=binutils-mingw-w64-x86-64
  [wixl]=wixl
  [flock]=util-linux
  [dpkg-deb]=dpkg
  [dpkg-scanpackages]=dpkg-dev
  [systemd-analyze]=systemd
  [openssl]=openssl
  [osslsigncode]=osslsigncode
  [zstd]=zstd
  [bzip2]=bzip2
  [xz]=xz-utils
  [lzma]=xz-utils
  [lz4]=lz4
  [msibuild]=msitools
  [msiinfo]=msitools
  [faketime]=faketime
  [ansible-playbook]=ansible
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# wine64 must really be there: Debian's wine without wine64 cannot run amd64 programs.
dpkg-query -W -f='${Status}' wine64 2>/dev/null | grep -q 'install ok installed' || missing+=(wine64)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing Debian packages: ${missing[*]}; run as root or install them: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
