# bash completion for dvi. It asks the binary (dvi __complete), so commands, options and
# values (record ids, dossiers, lots, partners, devices of the ledger) never drift.
_dvi() {
    local cur=${COMP_WORDS[COMP_CWORD]} out
    out=$("${COMP_WORDS[0]}" __complete -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
    if [ "$out" = __files__ ]; then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    else
        mapfile -t COMPREPLY <<<"$out"
        [ -n "${COMPREPLY[0]}" ] || COMPREPLY=()
    fi
}
complete -F _dvi dvi
