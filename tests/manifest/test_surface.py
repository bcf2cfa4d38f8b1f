"""The public surface of each package is what we mean it to be (httpx-style)."""

import pytest

import app.review
import shared.compose
import shared.manifest

pytestmark = pytest.mark.unit

SURFACES = {
    shared.manifest: {
        "validate_manifest",
        "parse_manifest",
        "check_manifest",
        "load_manifest",
        "validate_manifest_file",
        "validate_config_values",
        "Manifest",
        "Issue",
        "ManifestInvalidError",
        "ValidationOptions",
        "parse_version",
        "parse_image_ref",
        "split_image_ref",
    },
    shared.compose: {
        "render_compose",
        "render_env",
        "render_iptables_rules",
        "check_template",
        "RenderContext",
        "RenderResult",
        "CELL_NETWORK",
    },
    app.review: {"review_service", "scan_script", "StoreIndex"},
}


@pytest.mark.parametrize("package", list(SURFACES), ids=lambda p: p.__name__)
def test_public_surface(package):
    exported = set(package.__all__)
    assert SURFACES[package] <= exported
    assert exported == {
        name for name in vars(package) if not name.startswith("_") and name in exported
    }
    for name in exported:
        assert getattr(package, name) is not None


def test_constants_match_the_seed():
    assert {
        "api",
        "webui",
        "admin",
        "www",
        "ns1",
        "ns2",
        "git",
        "registry",
        "install",
    } == shared.manifest.RESERVED_SUBDOMAINS
    assert shared.manifest.SYSTEM_PATHS == (
        "/",
        "/etc",
        "/var",
        "/proc",
        "/sys",
        "/dev",
        "/app",
        "/run",
        "/boot",
    )
    assert shared.manifest.EGRESS_CHOICES == (
        "default",
        "wireguard_ext",
        "openvpn",
        "tor",
        "sshuttle",
        "proxy",
    )
    assert shared.compose.CELL_NETWORK == "pic-cell"
    assert str(shared.compose.CELL_SUBNET) == "172.20.0.0/16"
    assert (str(shared.compose.SERVICE_IP_FIRST), str(shared.compose.SERVICE_IP_LAST)) == (
        "172.20.0.20",
        "172.20.0.254",
    )
