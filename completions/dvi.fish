# fish completion for dvi. It asks the binary (dvi __complete), so commands, options and
# values (record ids, dossiers, lots, partners, devices of the ledger) never drift.
function __dvi_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l out (command $tokens[1] __complete -- $tokens[2..-1] "$cur" 2>/dev/null)
    if test "$out" = __files__
        __fish_complete_path "$cur"
    else
        printf '%s\n' $out
    end
end
complete -c dvi -f -a '(__dvi_complete)'
