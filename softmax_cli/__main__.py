"""``python -m softmax_cli``."""

from softmax_cli.launch import main

if __name__ == "__main__":
    main()
