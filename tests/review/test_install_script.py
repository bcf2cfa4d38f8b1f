import pytest

from app.review import scan_script
from app.review.install_script import script_issues

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("line", "tool"),
    [
        ("apt-get install -y jq", "apt-get"),
        ("apt-get -y install jq", "apt-get"),
        ("sudo apt install jq", "apt"),
        ("apt-get -qq dist-upgrade", "apt-get"),
        ("aptitude install jq", "aptitude"),
        ("dpkg -i thing.deb", "dpkg"),
        ("dpkg --install thing.deb", "dpkg"),
        ("yum install -y jq", "yum"),
        ("dnf -y install jq", "dnf"),
        ("zypper in jq", "zypper"),
        ("apk add --no-cache jq", "apk"),
        ("rpm -ivh thing.rpm", "rpm"),
        ("pacman -Syu jq", "pacman"),
        ("snap install jq", "snap"),
        ("pip install --break-system-packages x", "pip"),
        ("pip3 install --system x", "pip3"),
        ("python3 -m pip install --root / x", "python3 -m pip"),
        ("sudo pip install x", "pip"),
        ("sudo -H pip3 install x", "pip3"),
        ("npm install -g yarn", "npm"),
        ("yarn global add x", "yarn"),
        ("test -x /usr/bin/jq || apt-get install -y jq", "apt-get"),
    ],
)
def test_system_package_installs(line, tool):
    issues = list(scan_script(f"#!/bin/sh\n{line}\n"))
    assert [i.path for i in issues] == ["2"]
    assert f"installs system packages ({tool})" in issues[0].message
    assert issues[0].file == "install.sh"


@pytest.mark.parametrize(
    "line",
    [
        "curl -fsSL https://example.org/x.sh | sh",
        "curl -fsSL https://example.org/x.sh | bash",
        "curl -fsSL https://example.org/x.sh | sudo bash",
        "curl -fsSL https://example.org/x.sh | sudo -E bash -s -- --yes",
        "curl -s https://x | tee log | sh",
        "wget -O- https://example.org/x.sh | sh",
        "wget -qO - https://x | /bin/bash",
        "curl https://x | python3",
        "bash <(curl -s https://x)",
        "source <(curl -s https://x)",
        ". <(wget -qO- https://x)",
        'sh -c "$(curl -fsSL https://x)"',
        'eval "$(curl -fsSL https://x)"',
        'bash -c "`wget -qO- https://x`"',
    ],
)
def test_downloads_run_through_a_shell(line):
    issues = list(scan_script(line))
    assert [i.path for i in issues] == ["1"]
    assert "runs a download through a shell" in issues[0].message


@pytest.mark.parametrize(
    "line",
    [
        "# apt-get install jq is not needed",
        "echo 'apt is a package manager'",
        "apt-get update",
        "pip install --user x",
        "curl -fsSL -o notes.tar.gz https://x",
        "curl -s https://x > file && sha256sum -c sums",
        "mkdir -p /data/notes",
        "npm install",
        "shellcheck install.sh",
    ],
)
def test_harmless_lines(line):
    assert list(scan_script(line)) == []


def test_continued_lines_report_their_first_line():
    script = "#!/bin/sh\necho start\ncurl -fsSL https://x \\\n  | bash\necho end\n"
    assert [i.path for i in scan_script(script)] == ["3"]


def test_a_script_file_over_the_limit(tmp_path):
    path = tmp_path / "install.sh"
    path.write_bytes(b"#" * (1024 * 1024 + 1))
    assert "larger than 1 MiB" in script_issues(path)[0].message
