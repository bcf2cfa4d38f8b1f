"""Basic and bearer-token auth against real registries (distribution 2.8 with htpasswd, and
with token auth whose token service is a small test server issuing ES256 JWTs)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from app.embedded import ManagedProcess, find_binary, free_port
from shared.oci import Credentials, RegistryAuthError, RegistryClient, Repository
from tests.oci.hostile import HostileRegistry, Request

pytestmark = pytest.mark.integration

USER, PASSWORD = "store-admin", "pässword-42"
SERVICE, ISSUER = "pic-store-test-registry", "pic-store-test-tokens"


def start_registry_with(data_dir: Path, auth: dict) -> ManagedProcess:
    port = free_port()
    config = {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(data_dir / "storage")}},
        "http": {"addr": f"127.0.0.1:{port}"},
        "auth": auth,
    }
    (data_dir / "registry.json").write_text(json.dumps(config))
    argv = [find_binary("docker-registry"), "serve", str(data_dir / "registry.json")]
    return ManagedProcess("docker-registry", argv, port, data_dir / "registry.log").start()


def bcrypt_hash(password: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # the stdlib's bcrypt (libxcrypt); no extra package needed
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("registry-basic")
    (data_dir / "htpasswd").write_text(f"{USER}:{bcrypt_hash(PASSWORD)}\n")
    server = start_registry_with(
        data_dir, {"htpasswd": {"realm": "pic-store", "path": str(data_dir / "htpasswd")}}
    )
    yield f"127.0.0.1:{server.port}"
    server.stop()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenService:
    """Issues the JWTs distribution's token auth accepts: ES256, the signing cert in x5c."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(self.key, hashes.SHA256())
        )

    def token(self, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        header = {
            "typ": "JWT",
            "alg": "ES256",
            "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": USER,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        encoded = [b64url(json.dumps(part).encode()) for part in (header, claims)]
        signing_input = ".".join(encoded)
        r, s = decode_dss_signature(
            self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


@pytest.fixture(scope="module")
async def token_server() -> AsyncIterator[HostileRegistry]:
    tokens = TokenService()
    server = await HostileRegistry().start()
    server.tokens = tokens  # type: ignore[attr-defined]

    @server.route("/token")
    async def _(request: Request) -> None:
        from urllib.parse import parse_qs, urlsplit

        query = parse_qs(urlsplit(request.path).query)
        auth = request.headers.get("authorization", "")
        if auth:
            user, _, password = base64.b64decode(auth.split(" ", 1)[1]).decode().partition(":")
            if (user, password) != (USER, PASSWORD):
                await request.send(401, {}, b'{"details":"bad credentials"}')
                return
        scopes = query.get("scope", []) if auth else []
        body = json.dumps({"token": tokens.token(scopes)}).encode()
        await request.send(200, {"Content-Type": "application/json"}, body)

    yield server
    await server.stop()


@pytest.fixture(scope="module")
def bearer_registry(tmp_path_factory, token_server: HostileRegistry) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("registry-token")
    tokens: TokenService = token_server.tokens  # type: ignore[attr-defined]
    (data_dir / "root.pem").write_bytes(tokens.cert.public_bytes(serialization.Encoding.PEM))
    server = start_registry_with(
        data_dir,
        {
            "token": {
                "realm": f"http://{token_server.host}/token",
                "service": SERVICE,
                "issuer": ISSUER,
                "rootcertbundle": str(data_dir / "root.pem"),
            }
        },
    )
    yield f"127.0.0.1:{server.port}"
    server.stop()


def client_for(host: str, credentials: Credentials | None) -> RegistryClient:
    return RegistryClient(
        insecure_registries={host},
        trust_env=False,
        credentials={host: credentials} if credentials else None,
    )


async def push_and_pull(client: RegistryClient, repo: Repository) -> None:
    descriptor = await client.put_blob(repo, b"private layer")
    assert await client.get_blob(repo, descriptor) == b"private layer"


@pytest.mark.parametrize("kind", ["basic", "bearer"])
async def test_right_credentials_push_and_pull(kind, basic_registry, bearer_registry):
    host = basic_registry if kind == "basic" else bearer_registry
    async with client_for(host, Credentials(USER, PASSWORD)) as client:
        await push_and_pull(client, Repository(host, f"private/{kind}"))
        assert repr(Credentials(USER, PASSWORD)).count(PASSWORD) == 0


@pytest.mark.parametrize(
    ("kind", "message"),
    [("basic", "still refuses access"), ("bearer", "refused the configured credentials")],
)
async def test_wrong_password_is_an_auth_error_without_the_password(
    kind, message, basic_registry, bearer_registry
):
    host = basic_registry if kind == "basic" else bearer_registry
    async with client_for(host, Credentials(USER, "wrong-Pa55")) as client:
        with pytest.raises(RegistryAuthError, match=message) as caught:
            await push_and_pull(client, Repository(host, f"private/{kind}"))
    assert "wrong-Pa55" not in str(caught.value)
    assert PASSWORD not in str(caught.value)


async def test_basic_registry_without_credentials(basic_registry):
    async with client_for(basic_registry, None) as client:
        with pytest.raises(RegistryAuthError, match="none is configured for it"):
            await client.list_tags(Repository(basic_registry, "private/basic"))


async def test_anonymous_bearer_token_without_access(bearer_registry):
    async with client_for(bearer_registry, None) as client:
        with pytest.raises(RegistryAuthError, match="still refuses access"):
            await client.list_tags(Repository(bearer_registry, "private/bearer"))


async def test_bearer_tokens_are_cached_per_scope(bearer_registry, token_server):
    async with client_for(bearer_registry, Credentials(USER, PASSWORD)) as client:
        repo = Repository(bearer_registry, "private/cache")
        await push_and_pull(client, repo)
        before = sum(r.path.startswith("/token") for r in token_server.seen)
        await push_and_pull(client, repo)
        assert sum(r.path.startswith("/token") for r in token_server.seen) == before
