"""One module per participant, each defining `CONTRACT` (shared/contract/declare.py)."""
