"""One test per finding of the tenants issue: a hostile store author, a compromised container,
a local user and a tampered backup, each tried against the real part where the behaviour lives."""
