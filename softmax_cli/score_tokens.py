"""Which command-line words are scores: for the parser, and for TAB, which imports little else."""

from __future__ import annotations


def looks_like_scores(token: str) -> bool:
    """True for tokens such as ``-1``, ``-inf``, ``-1e-3``, ``-2,-1`` or ``-1;2``."""
    pieces = [piece.strip() for part in token.split(";") for piece in part.split(",")]
    if not any(pieces):
        return False
    for piece in pieces:
        if not piece:
            continue
        try:
            float(piece)
        except ValueError:
            return False
    return True


def is_scores_token(token: str) -> bool:
    """True for a token that is scores, not an option: no leading ``-``, ``-`` alone, or numbers."""
    return token == "-" or not token.startswith("-") or looks_like_scores(token)
