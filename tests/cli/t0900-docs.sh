#!/usr/bin/env bash
# Docs stay true: every command has a man page; groff -ww is silent on every page;
# the options each page documents under OPTIONS are exactly those that
# `dvi <cmd> [<sub>...] -h` lists (-h/--help are implicit); each page's SYNOPSIS
# names every subcommand, and dvi(1)'s COMMANDS section every command and its page.
# The checker then runs on broken copies of the pages, to prove it can fail.
. "$(dirname "$0")/lib.sh"
command -v groff >/dev/null || fail "groff is not installed (Debian package groff-base)"
[ -x "$DVI" ] || fail "no dvi binary at $DVI"

# --- What the binary says (CLI11 2.1.2 help layout) -----------------------------------

# dvi_help <words...>: the -h output of `dvi <words...>`; a failure is a problem itself.
dvi_help() { "$DVI" "$@" -h 2>&1 || { echo "DVI-HELP-FAILED"; return 0; }; }

# help_options <words...>: option names, one per line, from the "Options:" sections:
# lines "  -q,--quiet   Print only errors" give -q and --quiet. -h/--help are dropped.
help_options() {
    dvi_help "$@" | awk '
        /^$/ { sec = ""; next }
        /^[A-Za-z][A-Za-z ]*:$/ { sec = $0; next }
        sec ~ /Options/ && /^ +-/ {
            n = split($1, names, ",")
            for (i = 1; i <= n; i++) if (names[i] != "-h" && names[i] != "--help") print names[i]
        }'
}

# help_subcommands <words...>: subcommand names listed under "Subcommands:".
help_subcommands() {
    dvi_help "$@" | awk '
        /^$/ { sec = ""; next }
        /^[A-Za-z][A-Za-z ]*:$/ { sec = $0; next }
        sec == "Subcommands:" && /^ +[A-Za-z0-9]/ { print $1 }'
}

# --- What a page says ------------------------------------------------------------------

# roff_plain: roff on stdin with font changes and common escapes removed, \- as -.
roff_plain() {
    sed -e 's/\\f\[[^]]*\]//g' -e 's/\\f([A-Za-z][A-Za-z]//g' -e 's/\\f[A-Za-z0-9]//g' \
        -e 's/\\-/-/g' -e 's/\\(hy/-/g' -e 's/\\(aq/'"'"'/g' -e 's/\\&//g' -e 's/\\%//g' -e 's/\\e/\\/g'
}

# section <page> <name>: the lines of a .SH section (name without quotes).
section() {
    awk -v want="$2" '
        /^\.SH/ { s = $0; sub(/^\.SH[ \t]*/, "", s); gsub(/"/, "", s); on = (s == want); next }
        on' "$1"
}

# option_tags <page>: the options named in the tags (.TP/.TQ lines) of OPTIONS.
option_tags() {
    section "$1" OPTIONS | awk '
        /^\.\\"/ { next }
        tag { print } { tag = ($0 ~ /^\.(TP|TQ)([ \t]|$)/) }' |
        roff_plain | grep -oE '(^|[^A-Za-z0-9-])--?[A-Za-z0-9][A-Za-z0-9-]*' |
        sed -E 's/^[^-]+//' | sort -u || true
}

# words <page> <section>: the section as plain words separated by single spaces.
words() {
    echo " $(section "$1" "$2" | grep -v '^\.\\"' | roff_plain | sed -E 's/^\.[A-Za-z]+//' |
        tr -c 'A-Za-z0-9_-' ' ' | tr -s ' ') "
}

# --- The checks ------------------------------------------------------------------------

# check_docs <source-dir>: prints one line per problem in <source-dir>/man against the
# commands in <source-dir>/cmd and the binary's help; prints nothing when all is true.
check_docs() {
    local src=$1 man=$1/man f name page c sub opt
    [ -f "$man/dvi.1" ] || echo "man/dvi.1 is missing"
    for f in "$src"/cmd/cmd_*.cpp; do
        [ -e "$f" ] || continue
        name=$(basename "$f" .cpp)
        name=${name#cmd_}
        name=${name//_/-}
        [ -f "$man/dvi-$name.1" ] || echo "cmd/cmd_${name//-/_}.cpp has no man/dvi-$name.1"
    done
    for page in "$man"/*.[1-9]; do
        [ -e "$page" ] || continue
        local out
        out=$(groff -man -ww -z "$page" 2>&1) || true
        [ -z "$out" ] || echo "groff -man -ww -z warns on man/$(basename "$page"): $out"
    done

    local top
    top=$(help_subcommands)
    [ -n "$top" ] || echo "'dvi -h' lists no subcommands (cannot parse the help)"
    if [ -f "$man/dvi.1" ]; then
        check_options "$man/dvi.1" "$(help_options)" ""
        local commands
        commands=$(words "$man/dvi.1" COMMANDS)
        for c in $top; do
            [[ $commands == *" dvi $c "* || $commands == *" $c "* ]] ||
                echo "man/dvi.1: COMMANDS does not mention '$c'"
            [[ $commands == *" dvi-$c "* ]] || echo "man/dvi.1: COMMANDS does not refer to dvi-$c(1)"
        done
    fi
    for page in "$man"/dvi-*.1; do
        [ -e "$page" ] || continue
        c=$(basename "$page" .1)
        c=${c#dvi-}
        grep -qxF -- "$c" <<<"$top" || echo "man/dvi-$c.1 documents a command that 'dvi -h' does not list"
    done
    for c in $top; do
        page=$man/dvi-$c.1
        if [ ! -f "$page" ]; then
            echo "command '$c' (in 'dvi -h') has no man/dvi-$c.1"
            continue
        fi
        # Every level of subcommands: options into one set, each subcommand in SYNOPSIS.
        local options="" queue=("$c") path synopsis
        synopsis=$(words "$page" SYNOPSIS)
        [[ $synopsis == *" $c "* ]] || echo "man/dvi-$c.1: SYNOPSIS does not mention '$c'"
        while [ ${#queue[@]} -gt 0 ]; do
            path=${queue[0]}
            queue=("${queue[@]:1}")
            # shellcheck disable=SC2086 # the path is words on purpose
            options+=$(help_options $path)$'\n'
            # shellcheck disable=SC2086
            for sub in $(help_subcommands $path); do
                [[ $synopsis == *" ${path##* } $sub "* ]] ||
                    echo "man/dvi-$c.1: SYNOPSIS does not mention subcommand '$path $sub'"
                queue+=("$path $sub")
            done
        done
        check_options "$page" "$options" "$c"
    done
}

# check_options <page> <options from -h, one per line> <command>: both directions.
check_options() {
    local page=$1 accepted documented opt cmd="dvi${3:+ $3}"
    accepted=$(grep -v '^$' <<<"$2" | sort -u || true)
    documented=$(option_tags "$page")
    for opt in $accepted; do
        grep -qxF -- "$opt" <<<"$documented" ||
            echo "man/$(basename "$page"): OPTIONS lacks $opt, which '$cmd -h' lists"
    done
    for opt in $documented; do
        [ "$opt" = -h ] || [ "$opt" = --help ] && continue
        grep -qxF -- "$opt" <<<"$accepted" ||
            echo "man/$(basename "$page"): OPTIONS documents $opt, which '$cmd -h' does not list"
    done
    grep -q DVI-HELP-FAILED <<<"$2" && echo "'$cmd -h' failed"
    return 0
}

# --- The real pages --------------------------------------------------------------------

problems=$(check_docs "$DVI_SOURCE_DIR")
if [ -n "$problems" ]; then
    printf '%s\n' "$problems" >&2
    fail "$(grep -c . <<<"$problems") problem(s) in the man pages"
fi
pass "every command has a page; groff -ww is silent; OPTIONS and SYNOPSIS match -h"

# --- The checker can fail: broken copies of the pages ------------------------------------

# mutant <name>: a copy of the source tree's cmd/ (linked) and man/ (copied) in $T/<name>.
mutant() {
    mkdir -p "$T/$1"
    ln -s "$DVI_SOURCE_DIR/cmd" "$T/$1/cmd"
    cp -r "$DVI_SOURCE_DIR/man" "$T/$1/man"
}
# expect_problem <name> <text>: check_docs on mutant <name> reports a line containing <text>.
expect_problem() {
    local got
    got=$(check_docs "$T/$1")
    grep -qF -- "$2" <<<"$got" || fail "mutant '$1': expected a problem with '$2', got: ${got:-nothing}"
}

# A command with a long option and one with subcommands, whatever they are today.
opt_cmd="" opt="" sub_cmd="" sub=""
for c in $(help_subcommands); do
    while read -r p; do
        # shellcheck disable=SC2086 # the path is words on purpose
        o=$(help_options $p | grep -m1 -- '^--' || true)
        [ -z "$opt" ] && [ -n "$o" ] && { opt_cmd=$c opt=$o; }
    done < <(echo "$c"; help_subcommands "$c" | sed "s/^/$c /")
    s=$(help_subcommands "$c" | head -1)
    [ -z "$sub" ] && [ -n "$s" ] && { sub_cmd=$c sub=$s; }
done
[ -n "$opt" ] || fail "no command has a long option: the help parser is broken"
[ -n "$sub" ] || fail "no command has subcommands: the help parser is broken"

# The option renamed in its page: missing one way, unknown the other.
mutant renamed
python3 - "$T/renamed/man/dvi-$opt_cmd.1" "$opt" <<'PY'
import re, sys
path, opt = sys.argv[1], sys.argv[2]
roff = opt.replace("-", "\\-")
text = open(path).read()
text, n = re.subn(re.escape(roff) + r"(?![A-Za-z0-9]|\\-)", r"\\-\\-no\\-such\\-option", text)
assert n > 0, f"{opt} not found in {path}"
open(path, "w").write(text)
PY
expect_problem renamed "man/dvi-$opt_cmd.1: OPTIONS lacks $opt"
expect_problem renamed "man/dvi-$opt_cmd.1: OPTIONS documents --no-such-option"

# A page that groff warns about.
mutant warning
echo '.NOSUCHMACRO' >> "$T/warning/man/dvi-$sub_cmd.1"
expect_problem warning "groff -man -ww -z warns on man/dvi-$sub_cmd.1"

# A SYNOPSIS without its subcommands.
mutant synopsis
awk '/^\.SH/ { on = ($0 ~ /SYNOPSIS/); print; next } !on' "$DVI_SOURCE_DIR/man/dvi-$sub_cmd.1" \
    > "$T/synopsis/man/dvi-$sub_cmd.1"
expect_problem synopsis "man/dvi-$sub_cmd.1: SYNOPSIS does not mention subcommand '$sub_cmd $sub'"

# A command without a page.
mutant missing
rm "$T/missing/man/dvi-$opt_cmd.1"
expect_problem missing "command '$opt_cmd' (in 'dvi -h') has no man/dvi-$opt_cmd.1"
if [ -f "$DVI_SOURCE_DIR/cmd/cmd_${opt_cmd//-/_}.cpp" ]; then
    expect_problem missing "cmd/cmd_${opt_cmd//-/_}.cpp has no man/dvi-$opt_cmd.1"
fi
pass "the checker catches a renamed option, a groff warning, a bare SYNOPSIS, a missing page"
