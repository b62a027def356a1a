#!/usr/bin/env bash
# package.sh builds agentkeeper for Linux and packs it as .deb and .rpm with
# nfpm (packaging/nfpm/nfpm.yaml) into dist/.
#
#   scripts/package.sh
#
# Environment (all optional):
#   ARCHES       GOARCHes to build (default "amd64 arm64")
#   DIST         output directory (default dist)
#   VERSION      version put into the binary (default: git describe --tags --always --dirty)
#   PKG_VERSION  package version (default: derived from VERSION, valid for dpkg and rpm)
#   MAINTAINER   the packages' Maintainer/Packager field
#
# Reproducible: -trimpath, no build id, no VCS stamp, CGO off, and every
# timestamp in the packages is SOURCE_DATE_EPOCH (default: the last commit's
# time), so two runs on the same tree give byte-identical packages.
# Binaries go to bin/linux-ARCH/agentkeeper. nfpm is pinned (NFPM_VERSION)
# and installed once under ${AGENTKEEPER_CACHE:-~/.cache/agentkeeper}/tools.
set -euo pipefail

# v2.46.0 and later depend on go.digitalxero.dev modules that the Go module
# proxy does not serve (403); v2.45.0 builds from the proxy alone.
readonly NFPM_VERSION=v2.45.0

die() {
	printf 'package: %s\n' "$*" >&2
	exit 1
}

cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
go=${GO:-go}
command -v "$go" >/dev/null 2>&1 || die "go not found"
arches=${ARCHES:-amd64 arm64}
dist=${DIST:-dist}

version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null) || die "no git history: set SOURCE_DATE_EPOCH"
fi
export SOURCE_DATE_EPOCH

# pkg_version turns a git describe string into a version dpkg and rpm both
# accept and order sensibly: v1.2.3 → 1.2.3, v1.2.3-4-gabc → 1.2.3+4.gabc,
# v1.2.3-rc1 → 1.2.3~rc1, -dirty → .dirty (or +dirty); with no tag (a bare
# hash) 0.0.0+gitYYYYMMDD.HASH.
pkg_version() {
	local v="$1" suffix=""
	case "$v" in
	*-dirty) suffix=dirty v=${v%-dirty} ;;
	esac
	if [[ "$v" =~ ^[0-9a-f]{7,40}$ ]] && ! git rev-parse -q --verify "refs/tags/$v" >/dev/null 2>&1; then
		# No tag: git describe --always gave the abbreviated commit hash.
		v="0.0.0+git$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d).$v"
	elif [[ "${v#v}" =~ ^([0-9][0-9A-Za-z.~-]*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
		v="${BASH_REMATCH[1]//-/\~}+${BASH_REMATCH[2]}.g${BASH_REMATCH[3]}"
	elif [[ "${v#v}" =~ ^[0-9][0-9A-Za-z.~-]*$ ]]; then
		v=${v#v}
		v=${v//-/\~}
	else
		v="0.0.0+${v//[^0-9A-Za-z.]/.}"
	fi
	if [ -n "$suffix" ]; then
		case "$v" in *+*) v="$v.$suffix" ;; *) v="$v+$suffix" ;; esac
	fi
	printf '%s\n' "$v"
}
pkgver=${PKG_VERSION:-$(pkg_version "$version")}
[[ "$pkgver" =~ ^[0-9][0-9A-Za-z.+~]*$ ]] || die "package version '$pkgver' is not valid for dpkg and rpm"

tools="${AGENTKEEPER_CACHE:-${HOME:-/root}/.cache/agentkeeper}/tools/nfpm-$NFPM_VERSION"
nfpm="$tools/nfpm"
if [ ! -x "$nfpm" ]; then
	printf 'package: installing nfpm %s into %s\n' "$NFPM_VERSION" "$tools" >&2
	mkdir -p "$tools"
	GOBIN="$tools" GOFLAGS=-mod=mod "$go" install "github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION" ||
		die "go install nfpm@$NFPM_VERSION failed"
fi

export VERSION="$pkgver" MAINTAINER="${MAINTAINER:-agentkeeper maintainers <maintainers@agentkeeper.invalid>}"
mkdir -p "$dist"
t0=$(date +%s.%N)
# Man pages and shell completions, from the command tree (the hidden
# `agentkeeper gen-docs`), by a build for this machine; the pages' date is
# SOURCE_DATE_EPOCH and gzip -n stores no name or time: reproducible.
docs=bin/docs
rm -rf "$docs"
CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$go" build -trimpath -ldflags "-X main.version=$version" \
	-o bin/gen-docs/agentkeeper ./cmd/agentkeeper || die "go build for gen-docs failed"
bin/gen-docs/agentkeeper gen-docs "$docs" || die "agentkeeper gen-docs failed"
gzip -9n "$docs"/man1/*.1 || die "gzip of the man pages failed"
for arch in $arches; do
	out="bin/linux-$arch/agentkeeper"
	CGO_ENABLED=0 GOOS=linux GOARCH="$arch" GOFLAGS=-buildvcs=false "$go" build -trimpath \
		-ldflags "-s -w -buildid= -X main.version=$version" -o "$out" ./cmd/agentkeeper ||
		die "go build for linux/$arch failed"
	# nfpm takes file modes from nfpm.yaml and times from SOURCE_DATE_EPOCH.
	for fmt in deb rpm; do
		ARCH="$arch" "$nfpm" package --config packaging/nfpm/nfpm.yaml --packager "$fmt" --target "$dist/" >&2 ||
			die "nfpm $fmt for $arch failed"
	done
done
printf 'package: version %s (binary %s), SOURCE_DATE_EPOCH=%s, %s s\n' "$pkgver" "$version" "$SOURCE_DATE_EPOCH" \
	"$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" >&2
cd "$dist"
for arch in $arches; do
	ls -1 ./*"$pkgver"*"$arch".deb ./*"$pkgver"*.rpm 2>/dev/null
done | sort -u | xargs sha256sum
