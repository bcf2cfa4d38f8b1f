"""The verifier: checks every image's signature under the cell's mode before anything runs."""

from __future__ import annotations

from shared.contract.declare import Contract, Step

VERIFY = Step(
    "verify", "Verify the image signatures", rank=10, wanted=lambda m: True, leaves_state=False
)

CONTRACT = Contract(
    owner="verifier",
    port=8471,
    summary="verifies image signatures (cosign) against the cell's trusted keys",
    steps=(VERIFY,),
)
