"""A real multi-container app ported from a peer's store passes validate and review: storage
below /app/data, a Postgres data folder below /var/lib, and a backup of the sidecar's
database."""

import json
from pathlib import Path

import pytest

from app.cli.main import main
from shared.compose import RenderContext, render_compose
from shared.manifest import load_manifest

pytestmark = pytest.mark.unit

WIKI = Path(__file__).parent / "data" / "wiki"


def test_validate_accepts_the_ported_wiki(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(WIKI)]) == 0, capsys.readouterr()


def test_review_accepts_the_ported_wiki(tmp_path: Path) -> None:
    index = tmp_path / "index.json"
    index.write_text(
        json.dumps(
            {"services": [{"id": "wiki", "name": "Wiki", "version": "2.5.1", "subdomain": "wiki"}]}
        )
    )
    assert main(["review", str(WIKI), "--index", str(index)]) == 0


def test_the_sidecars_keep_their_data_and_their_names() -> None:
    manifest = load_manifest(WIKI)
    result = render_compose(
        (WIKI / "compose-template.yml").read_text(),
        manifest,
        RenderContext("cell.example.org", "cell", "/srv/pic/data", "172.20.0.30"),
    )
    services = result.canonical["services"]
    assert services["wiki-db"]["volumes"][0]["target"] == "/var/lib/postgresql/data"
    assert result.canonical["volumes"]["wiki-db"]["name"] == "wiki_wiki-db"
    password = result.secrets["DB_PASSWORD"]
    assert services["cell-wiki"]["environment"]["DB_PASSWORD"] == password
    assert services["wiki-db"]["environment"]["POSTGRES_PASSWORD"] == password
    # The database and the cache are on the wiki's private network only; the front end,
    # the backend, is on the cell network too, keyed by its container_name.
    assert set(services["wiki-db"]["networks"]) == {"default"}
    assert set(services["wiki-cache"]["networks"]) == {"default"}
    assert set(services["cell-wiki"]["networks"]) == {"default", "pic-cell"}
    assert set(services["cell-wiki"]["depends_on"]) == {"wiki-db", "wiki-cache"}
