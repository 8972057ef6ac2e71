# Generated from the softmax app by scripts/make_completions.py; do not edit.
_softmax_completion() {
    local IFS=$'
'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \
                   COMP_CWORD=$COMP_CWORD \
                   _SOFTMAX_COMPLETE=complete_bash $1 ) )
    return 0
}

complete -o default -F _softmax_completion softmax
