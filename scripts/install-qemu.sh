#!/bin/sh
# Install QEMU >= 10 (with the uefi-vars device) for the live tests.
#
# Debian 12 (bookworm) ships QEMU 7.2, which has no uefi-vars device; bookworm-backports
# has 10.0.2 with uefi-vars-x64 and uefi-vars-sysbus. This script is idempotent: when
# qemu-system-x86_64 and qemu-system-aarch64 of version >= 10 are already on PATH it does
# nothing. Otherwise it adds the bookworm-backports source (deb822), runs apt-get update
# and installs qemu-system-x86 and qemu-system-arm from backports.
#
# Exit status: 0 installed or already present; 1 installation failed; 2 not possible here
# (not Debian bookworm, no root and no sudo).
set -eu

MIN_MAJOR=10
SOURCES_FILE=/etc/apt/sources.list.d/bookworm-backports.sources
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

say() { printf 'install-qemu: %s\n' "$*"; }
die() { code=$1; shift; printf 'install-qemu: error: %s\n' "$*" >&2; exit "$code"; }

# Major version of a QEMU binary, or empty when it is missing or unparsable.
qemu_major() {
    command -v "$1" >/dev/null 2>&1 || return 0
    "$1" -version 2>/dev/null | sed -n '1s/.*version \([0-9][0-9]*\)\..*/\1/p'
}

have_recent_qemu() {
    for bin in qemu-system-x86_64 qemu-system-aarch64; do
        major=$(qemu_major "$bin")
        if [ -z "$major" ] || [ "$major" -lt "$MIN_MAJOR" ]; then
            return 1
        fi
    done
    return 0
}

if have_recent_qemu; then
    say "QEMU is recent enough: $(qemu-system-x86_64 -version | head -n1)"
    exit 0
fi

for bin in qemu-system-x86_64 qemu-system-aarch64; do
    major=$(qemu_major "$bin")
    if [ -z "$major" ]; then
        say "$bin is not installed"
    else
        say "$bin is version $major.x; need >= $MIN_MAJOR (uefi-vars device)"
    fi
done

# --- can we install here? ---------------------------------------------------------------
if [ ! -r /etc/os-release ]; then
    die 2 "cannot tell which system this is (/etc/os-release missing); install QEMU >= $MIN_MAJOR with the uefi-vars device by hand"
fi
# shellcheck disable=SC1091
. /etc/os-release
if [ "${ID:-}" != debian ] || [ "${VERSION_CODENAME:-}" != bookworm ]; then
    die 2 "this script knows only Debian 12 (bookworm) with bookworm-backports; this is ${PRETTY_NAME:-an unknown system}. Install QEMU >= $MIN_MAJOR (qemu-system-x86_64 and qemu-system-aarch64 with the uefi-vars device) from your distribution"
fi
if ! command -v apt-get >/dev/null 2>&1; then
    die 2 "apt-get not found on this Debian system"
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
    SUDO=sudo
else
    die 2 "installing QEMU needs root: run this script as root or install sudo (and allow this user to use it)"
fi

if [ ! -r "$KEYRING" ]; then
    die 2 "$KEYRING is missing (package debian-archive-keyring)"
fi

# --- add bookworm-backports (deb822) -------------------------------------------------------
if grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    say "bookworm-backports is already configured"
else
    say "adding $SOURCES_FILE"
    $SUDO tee "$SOURCES_FILE" >/dev/null <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: $KEYRING
EOF
fi

say "apt-get update"
if ! $SUDO apt-get update; then
    die 1 "apt-get update failed; is the network (deb.debian.org) reachable?"
fi
if ! apt-cache policy qemu-system-x86 2>/dev/null | grep -q 'bookworm-backports'; then
    die 1 "bookworm-backports has no qemu-system-x86 candidate after apt-get update; is the network (deb.debian.org) reachable?"
fi

say "installing qemu-system-x86 qemu-system-arm from bookworm-backports"
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    -t bookworm-backports qemu-system-x86 qemu-system-arm; then
    die 1 "apt-get install failed (see above); check the network and free disk space"
fi

if have_recent_qemu; then
    say "installed: $(qemu-system-x86_64 -version | head -n1)"
    exit 0
fi
die 1 "QEMU was installed but qemu-system-x86_64/qemu-system-aarch64 >= $MIN_MAJOR are still not on PATH"
