"""Store review of a service folder: everything validate finds, plus the seed's review
checks (subdomain collisions with other store services, install.sh, the index entry, and
a version above the previous submission)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from app.review.index import INDEX_FILE, StoreIndex, other_manifest_path, parse_index
from app.review.install_script import INSTALL_SCRIPT, script_issues
from shared.compose import TEMPLATE_FILE, check_template_file, read_template, template_notes
from shared.manifest import (
    DEFAULT_OPTIONS,
    MANIFEST_FILE,
    Issue,
    ServiceVersion,
    ValidationOptions,
    check_manifest,
    hostnames_of,
    json_path,
    manifest_notes,
    parse_version,
    read_json_file,
    stand_in_manifest,
)
from shared.manifest.issues import show


def review_service(
    service_dir: Path | str,
    index: Mapping[str, object] | Path | str,
    previous_manifest: Mapping[str, object] | Path | str | None = None,
    options: ValidationOptions = DEFAULT_OPTIONS,
    store_dir: Path | str | None = None,
) -> list[Issue]:
    """Every review issue of `service_dir` (a folder with manifest.json); [] means accepted.
    `store_dir` (where other services' folders are) defaults to the index's folder."""
    folder = Path(service_dir)
    if not folder.is_dir():
        return [Issue("$", f"{folder} is not a service folder (a folder holding {MANIFEST_FILE})")]
    raw, issues = read_json_file(folder / MANIFEST_FILE)
    manifest = None
    if not issues:
        manifest, issues = check_manifest(raw, options)
    data = raw if isinstance(raw, dict) else {}
    service_id = data.get("id") if isinstance(data.get("id"), str) else None
    if service_id is not None and folder.resolve().name != service_id:
        issues.append(
            Issue(
                json_path("id"),
                f"the folder is named {show(folder.resolve().name)}: it must be named after the id",
            )
        )
    template = folder / TEMPLATE_FILE
    if not template.is_file():
        issues.append(Issue("$", f"the service folder has no {TEMPLATE_FILE}", TEMPLATE_FILE))
    else:  # a manifest with issues judges the template through a stand-in: every issue at once
        judge = manifest or stand_in_manifest(raw, options)
        if judge is not None:
            issues.extend(check_template_file(template, judge, options))
    if (folder / INSTALL_SCRIPT).exists():
        issues.extend(script_issues(folder / INSTALL_SCRIPT))
    issues.extend(_index_issues(data, index, store_dir, folder))
    if previous_manifest is not None:
        issues.extend(_previous_issues(data, previous_manifest))
    return issues


def review_notes(
    service_dir: Path | str, options: ValidationOptions = DEFAULT_OPTIONS
) -> list[Issue]:
    """What the reviewer should look at without it refusing the service: the manifest's
    warnings (hostnames no port is open for), a container that keeps MKNOD or NET_RAW,
    which pic-store drops from every other one."""
    folder = Path(service_dir)
    raw, issues = read_json_file(folder / MANIFEST_FILE)
    manifest = None if issues else check_manifest(raw, options)[0]
    if manifest is None:
        return []
    notes = manifest_notes(raw)
    if not (folder / TEMPLATE_FILE).is_file():
        return notes
    try:
        text = read_template(folder / TEMPLATE_FILE)
    except OSError:
        return notes
    return notes + template_notes(text, manifest, options)


def _index_issues(
    data: dict[str, object],
    index: Mapping[str, object] | Path | str,
    store_dir: Path | str | None,
    folder: Path,
) -> list[Issue]:
    if isinstance(index, Mapping):
        file, issues = INDEX_FILE, list[Issue]()
        raw: object = dict(index)
        root = Path(store_dir) if store_dir else folder.resolve().parent.parent
    else:
        path = Path(index)
        file = path.name
        raw, issues = read_json_file(path)
        issues = [Issue(i.path, i.message, file) for i in issues]
        root = Path(store_dir) if store_dir else path.resolve().parent
    if issues:
        return issues
    parsed, issues = parse_index(raw, file)
    if parsed is None:
        return issues
    return issues + list(_listing(data, parsed, file)) + list(_collisions(data, parsed, root))


def _listing(data: dict[str, object], index: StoreIndex, file: str) -> Iterator[Issue]:
    service_id = data.get("id")
    if not isinstance(service_id, str):
        return
    entry = index.entry(service_id)
    if entry is None:
        yield Issue(
            "$.services", f"the service {show(service_id)} is not listed: add an entry for it", file
        )
        return
    where = f"$.services[{index.services.index(entry)}]"
    for field in ("version", "name", "subdomain"):
        value = data.get(field)
        listed = getattr(entry, field)
        if isinstance(value, str) and listed is not None and listed != value:
            yield Issue(
                f"{where}.{field}",
                f"lists {field} {show(listed)} but the manifest says {show(value)}",
                file,
            )
        elif field == "version" and listed != value:
            yield Issue(f"{where}.version", "must be the manifest's version", file)
    hostnames = hostnames_of(data)
    if entry.hostnames and entry.hostnames != hostnames:
        yield Issue(
            f"{where}.hostnames",
            f"lists hostnames {_shown(entry.hostnames)} but the manifest says {_shown(hostnames)}",
            file,
        )


def _collisions(data: dict[str, object], index: StoreIndex, root: Path) -> Iterator[Issue]:
    """Subdomains and hostnames share the cell domain: a label is one service's."""
    ours = [(path, name, "subdomain") for path, name in _subdomains(data)]
    ours += [(path, name, "hostname") for path, name in _hostnames(data)]
    for entry in index.services:
        if entry.id == data.get("id"):
            continue
        theirs = set(entry.names)
        other, _ = read_json_file(other_manifest_path(root, entry))
        if isinstance(other, dict):
            theirs |= {sub for _, sub in _subdomains(other)} | set(hostnames_of(other))
        for path, name, kind in ours:
            if name in theirs:
                yield Issue(
                    path,
                    f"{kind} {show(name)} is already used by {show(entry.id)} in the store",
                )


def _hostnames(data: dict[str, object]) -> list[tuple[str, str]]:
    names = data.get("hostnames")
    return [
        (json_path("hostnames", position), value)
        for position, value in enumerate(names if isinstance(names, list) else [])
        if isinstance(value, str)
    ]


def _shown(names: list[str]) -> str:
    return "[" + ", ".join(show(name) for name in names) + "]"


def _subdomains(data: dict[str, object]) -> list[tuple[str, str]]:
    found = []
    if isinstance(data.get("subdomain"), str):
        found.append((json_path("subdomain"), str(data["subdomain"])))
    extras = data.get("extra_subdomains")
    for position, value in enumerate(extras if isinstance(extras, list) else []):
        if isinstance(value, str):
            found.append((json_path("extra_subdomains", position), value))
    return found


def _previous_issues(
    data: dict[str, object], previous: Mapping[str, object] | Path | str
) -> list[Issue]:
    if isinstance(previous, Mapping):
        file = "previous manifest"
        old_raw: object = dict(previous)
    else:
        file = str(previous)
        old_raw, issues = read_json_file(Path(previous))
        if issues:
            return [Issue(i.path, i.message, file) for i in issues]
    old = old_raw if isinstance(old_raw, dict) else {}
    if old.get("id") != data.get("id"):
        return [Issue("$.id", f"is {show(old.get('id'))}, not {show(data.get('id'))}", file)]
    before, now = _version(old.get("version")), _version(data.get("version"))
    if before is None:
        return [Issue("$.version", "the previous version is not a semantic version", file)]
    if now is not None and now <= before:
        return [
            Issue(
                json_path("version"),
                f"version {now} must be greater than the previous version {before}: "
                "increment it with every submission",
            )
        ]
    return []


def _version(value: object) -> ServiceVersion | None:
    try:
        return parse_version(value) if isinstance(value, str) else None
    except ValueError:
        return None
