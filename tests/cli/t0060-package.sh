#!/usr/bin/env bash
# Packaging: cpack makes a .deb whose dependencies are Debian's runtime libraries; unpacked
# into an empty directory, its dvi runs and its man pages are where Debian expects them.
. "$(dirname "$0")/lib.sh"
build=$(cd "$(dirname "$DVI")/.." && pwd)
[ -f "$build/CPackConfig.cmake" ] || fail "no CPackConfig.cmake in $build"
command -v dpkg-deb >/dev/null || fail "dpkg-deb is needed"
(cd "$build" && cpack -B "$T/pkg" >"$T/cpack.log" 2>&1) || { cat "$T/cpack.log"; fail "cpack failed"; }
deb=$(ls "$T"/pkg/dvi_*_*.deb)
[ "$(dpkg-deb -f "$deb" Package)" = dvi ] || fail "package name"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libgit2-1.5 libssl3 libyaml-cpp0.7 libc6; do
    case "$depends" in *"$lib "*) ;; *) fail "Depends lacks $lib: $depends" ;; esac
done
mkdir root
dpkg-deb -x "$deb" root
expect 0 root/usr/bin/dvi --version
grep -qE "^dvi $(dpkg-deb -f "$deb" Version) \(libgit2 1\.5\.[0-9]+, OpenSSL 3\.[0-9.]+[a-z]* " "$T/out" || fail "--version: $(cat "$T/out")"
for page in dvi.1 dvi-audit.1 dvi-anchor.1 dvi-print-verify.1; do
    [ -f "root/usr/share/man/man1/$page.gz" ] || fail "no $page.gz"
done
[ -f root/usr/share/man/man5/dvi-records.5.gz ] || fail "no dvi-records.5.gz"
for f in bash-completion/completions/dvi zsh/vendor-completions/_dvi fish/vendor_completions.d/dvi.fish; do
    [ -f "root/usr/share/$f" ] || fail "no completion $f"
done
zcat root/usr/share/man/man1/dvi-audit.1.gz | groff -man -Tutf8 -ww 2>&1 >/dev/null | grep . && fail "groff warns"
pass "the .deb: $(basename "$deb"), Depends: $depends"
