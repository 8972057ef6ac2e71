# Generated from the softmax app by scripts/make_completions.py; do not edit.
complete --command softmax --no-files --arguments "(env _SOFTMAX_COMPLETE=complete_fish _TYPER_COMPLETE_FISH_ACTION=get-args _TYPER_COMPLETE_ARGS=(commandline -cp) softmax)" --condition "env _SOFTMAX_COMPLETE=complete_fish _TYPER_COMPLETE_FISH_ACTION=is-args _TYPER_COMPLETE_ARGS=(commandline -cp) softmax"
