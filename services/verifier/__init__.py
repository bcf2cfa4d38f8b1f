"""The verifier: image trust for the install saga.

It answers the installer's `verify` step: the image must be pinned by a `@sha256:` digest and
carry a cosign signature (classic or cosign 3 bundle) under one of the cell's trusted keys.
The mode and the keys are read from the cell config on every request.
"""
