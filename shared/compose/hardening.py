"""What the renderer takes away from every container unless the template asks for it, and
the review notes that keep such a request visible.

Docker's default capabilities include MKNOD (a container could make a device node in a
folder of the host, for a local user to open) and NET_RAW (raw packets on the cell network:
spoofing, ARP games against other tenants). Rendering drops both from every service whose
`cap_add` does not name them; a template that does gets a note in `pic-store review`.
"""

from __future__ import annotations

from typing import Any

from shared.compose.keys import DROPPED_BY_DEFAULT
from shared.manifest import Issue, json_path


def capability_name(value: object) -> str:
    """A capability as Docker compares it: `cap_net_raw` and `NET_RAW` are one."""
    return str(value).upper().removeprefix("CAP_")


def drop_default_risks(document: dict[str, Any]) -> None:
    """Add `cap_drop: [MKNOD, NET_RAW]` to every service of the filled-in tree, except a
    capability its `cap_add` asks for (or one it drops already)."""
    for service in document["services"].values():
        added = service.get("cap_add")
        dropped = service.get("cap_drop")
        if not isinstance(added, list | None) or not isinstance(dropped, list | None):
            continue  # Compose refuses the file and says why
        asked = {capability_name(cap) for cap in added or []}
        have = {capability_name(cap) for cap in dropped or []}
        more = [cap for cap in DROPPED_BY_DEFAULT if cap not in asked | have and "ALL" not in have]
        if more:
            service["cap_drop"] = [*(dropped or []), *more]


def capability_notes(canonical: dict[str, Any]) -> list[Issue]:
    """One note per service that keeps MKNOD or NET_RAW through its cap_add."""
    notes = []
    for name, service in (canonical.get("services") or {}).items():
        for index, cap in enumerate(service.get("cap_add") or []):
            if capability_name(cap) in DROPPED_BY_DEFAULT:
                notes.append(
                    Issue(
                        json_path("services", str(name), "cap_add", index),
                        f"keeps {capability_name(cap)}, which pic-store drops from other "
                        "containers: make sure the service needs it (MKNOD makes device "
                        "nodes, NET_RAW crafts packets on the cell network)",
                    )
                )
    return notes
