#!/usr/bin/env bash
# Shell completions (completions/): bash, zsh and fish, each loaded in the real shell,
# complete commands, options and values from the ledger by asking `dvi __complete`.
. "$(dirname "$0")/lib.sh"
export DVI_DIR=$T/ledger
licensed "$DVI_DIR"
g=$(grant --to bureau7 --quota 5 --not-before 2026-11-01 --not-after 2026-12-31)
mkdir bin
ln -s "$DVI" bin/dvi
export PATH=$T/bin:$PATH
C=$DVI_SOURCE_DIR/completions
touch example-a.yaml example-b.yaml

# bash: load the script, set COMP_WORDS/COMP_CWORD, call the function, read COMPREPLY.
bash_complete() {
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _dvi; printf "%s\n" "${COMPREPLY[@]}"' \
        _ "$C/dvi.bash" "$@" | sort | tr '\n' ' ' | sed 's/ $//'
}
# zsh: the real function, with compadd and _files recording what they are given.
zsh_complete() {
    zsh -f -c 'compadd() { while [[ $1 != -- ]]; do shift; done; shift; print -l -- "$@" }
               _files() { print "(files)" }
               source "$1" 2>/dev/null; shift; words=("$@"); CURRENT=$#; _dvi' _ "$C/_dvi" "$@" |
        sort | tr '\n' ' ' | sed 's/ $//'
}
# fish: complete -C asks fish itself for the candidates of a command line.
fish_complete() {
    fish --no-config -c "source '$C/dvi.fish'; complete -C '$1'" | cut -f1 | sort | tr '\n' ' ' | sed 's/ $//'
}
is() { [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"; }

for shell in bash zsh; do
    c=${shell}_complete
    is "$($c dvi li)" "license" "$shell: a command"
    is "$($c dvi license "")" "allocate grant list revoke show" "$shell: subcommands"
    is "$($c dvi license grant --do)" "--dossier" "$shell: an option"
    is "$($c dvi license grant --dossier "")" "BRK-2041@C" "$shell: a dossier"
    is "$($c dvi print-verify --license "${g:7:4}")" "${g:7:12}" "$shell: a licence id"
    is "$($c dvi print-verify --material-lot poly)" "polyfil/PETG-2026-0117 polyfil/PETG-2026-0131" "$shell: lots"
    is "$($c dvi print-verify --device S5)" "S5-0412" "$shell: a device"
    is "$($c dvi license allocate --to bureau7/)" "bureau7/desk bureau7/s5" "$shell: a writer"
    is "$($c dvi audit --format m)" "markdown" "$shell: a format"
    is "$(DVI_DIR= $c dvi -C "$DVI_DIR" log a)" "acme acme/desk" "$shell: chains of the ledger given by -C"
    pass "$shell"
done
is "$(bash_complete dvi seal example-)" "example-a.yaml example-b.yaml" "bash: files"
is "$(zsh_complete dvi seal example-)" "(files)" "zsh: files"

is "$(fish_complete 'dvi li')" "license" "fish: a command"
is "$(fish_complete 'dvi license ')" "allocate grant list revoke show" "fish: subcommands"
is "$(fish_complete 'dvi license grant --dossier ')" "BRK-2041@C" "fish: a dossier"
is "$(fish_complete 'dvi print-verify --material-lot poly')" "polyfil/PETG-2026-0117 polyfil/PETG-2026-0131" "fish: lots"
is "$(fish_complete 'dvi seal example-')" "example-a.yaml example-b.yaml" "fish: files"
pass "fish"

# Every command of `dvi -h` is completed, so a new command cannot lack completion.
commands=$("$DVI" -h | awk '/^Subcommands:/ { on = 1; next } on && !NF { exit } on { print $1 }' | sort | tr '\n' ' ' | sed 's/ $//')
is "$(bash_complete dvi "")" "$commands" "every command"
pass "completion covers every command of dvi -h"
