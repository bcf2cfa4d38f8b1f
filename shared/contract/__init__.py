"""The participant contract: what each participant declares once (declare.py), every
declaration (registry.py), and the framework that serves one (serve.py)."""
