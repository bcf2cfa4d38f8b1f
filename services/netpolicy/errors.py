"""The netpolicy's errors, a branch of the pic-store exception tree.

PicStoreError
└── NetpolicyError            a rule or route could not be set; names what and why
    ├── CommandFailedError    iptables or ip refused; names the command and its answer
    └── InvalidPolicyError    the request or the cell config asks for something unsafe
                              or unknown (also a ValueError); nothing was changed
"""

from __future__ import annotations

from shared.errors import PicStoreError


class NetpolicyError(PicStoreError):
    """A firewall rule or route could not be set; names what and why."""

    key = "netpolicy_error"


class CommandFailedError(NetpolicyError):
    """iptables or ip refused; names the command and its answer."""

    key = "netpolicy_command_failed"


class InvalidPolicyError(NetpolicyError, ValueError):
    """The request or the cell config asks for something unsafe or unknown (also a ValueError);
    nothing was changed."""

    key = "invalid_policy"
