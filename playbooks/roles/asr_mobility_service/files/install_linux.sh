#!/usr/bin/env bash
# Extract Microsoft's Mobility service tarball into a private work directory, run its installer there with the
# command line given after `--`, remove the work directory whatever happens, and exit with the installer's code
# (the role maps it with the documented exit-code table).
#
# Usage: install_linux.sh TARBALL WORK_DIR -- ./install -q -r MS -v VmWare -c CSPrime|CSLegacy [...]
set -u
[ $# -ge 4 ] && [ "$3" = -- ] || { echo "usage: $0 TARBALL WORK_DIR -- INSTALLER_ARGV..." >&2; exit 2; }
tarball=$1 work=$2
shift 3
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/extracted" && chmod 0700 "$work" || exit 1
tar -xzf "$tarball" -C "$work/extracted" || { echo "cannot extract $tarball" >&2; exit 1; }
cd "$work/extracted" || exit 1
"$@"
