"""Values of the template variables, and substitution inside one YAML scalar.

Substitution works on a single string that came out of the YAML parser, so a value can
never add YAML structure; the value put in is never scanned again for variables.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping

from shared.cell_ca import CellCa, issue, still_good
from shared.compose.const import SECRET_BYTES
from shared.manifest import ConfigValue, Manifest
from shared.manifest.variables import (
    CELL_NAME,
    DATA_DIR,
    DOMAIN,
    SERVICE_ID,
    SERVICE_IP,
    TLS_CERT,
    TLS_KEY,
    TLS_VARIABLES,
    TemplateSyntaxError,
    Variable,
    parse_template,
    variable_problem,
)

# Where a service's certificate and key are kept among its stored secrets: names a manifest's
# `${PIC_SECRET_<NAME>}` cannot take (those are uppercase).
TLS_SECRETS = {TLS_CERT: "tls.cert", TLS_KEY: "tls.key"}
# What a render without the cell's CA (a check, `pic-store render`) puts in their place.
NO_CA = "(issued by the cell's CA at install)"


class VariableProblem(Exception):
    """One variable cannot be filled in; the message names the variable, never a value."""


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


class Resolver:
    """The value of each variable for one render. Secrets missing from `stored` are
    generated once (then reused within the render) when `generate` is set."""

    def __init__(
        self,
        manifest: Manifest,
        *,
        domain: str,
        cell_name: str,
        data_dir: str,
        service_ip: str | None,
        config: Mapping[str, ConfigValue],
        stored: Mapping[str, str],
        generate: Callable[[], str] | None = new_secret,
        ca: CellCa | None = None,
    ) -> None:
        self._fixed = {
            DOMAIN: domain,
            CELL_NAME: cell_name,
            DATA_DIR: data_dir,
            SERVICE_ID: manifest.id,
        }
        self._service_ip = service_ip
        self._ca = ca
        self._hosts = [f"{label}.{domain}" for label in getattr(manifest, "hostnames", None) or []]
        self.config: dict[str, ConfigValue] = dict(config)
        self._generate = generate
        self.secrets: dict[str, str] = dict(stored)
        self.new_secrets: list[str] = []
        self.secret_config_keys = {f.key for f in manifest.config_fields if f.type == "secret"}

    def resolve(self, variable: Variable) -> ConfigValue:
        name = variable.name
        if name in self._fixed:
            return self._fixed[name]
        if name == SERVICE_IP:
            if self._service_ip is None:
                raise VariableProblem("${SERVICE_IP} is used but no service IP was allocated")
            return self._service_ip
        if name in TLS_VARIABLES:
            return self._tls(name)
        key, secret = variable.config_key, variable.secret_name
        problem = variable_problem(name, set(self.config))
        if problem:
            raise VariableProblem(problem)
        if key is not None:
            return self.config[key]
        assert secret is not None
        return self._secret(secret)

    def _secret(self, name: str) -> str:
        if name not in self.secrets:
            if self._generate is None:
                raise VariableProblem(
                    f"the secret {name} has not been generated yet: render the compose file first"
                )
            self.secrets[name] = self._generate()
            self.new_secrets.append(name)
        return self.secrets[name]

    def _tls(self, name: str) -> str:
        """The service's certificate or key for its hostnames (issued again when it no longer
        fits: see shared/cell_ca.py), or the cell's root."""
        if not self._hosts:
            raise VariableProblem(
                f"${{{name}}} is used but the manifest names no `hostnames`: "
                "the certificate is for those names"
            )
        if self._ca is None:
            return NO_CA
        if name not in TLS_SECRETS:
            return self._ca.certificate_pem
        cert_name, key_name = TLS_SECRETS[TLS_CERT], TLS_SECRETS[TLS_KEY]
        held = self.secrets.get(cert_name)
        if (
            held is None
            or key_name not in self.secrets
            or not still_good(self._ca, held, self._hosts)
        ):
            leaf = issue(self._ca, self._hosts)
            self.secrets[cert_name], self.secrets[key_name] = leaf.certificate_pem, leaf.key_pem
            self.new_secrets += [n for n in (cert_name, key_name) if n not in self.new_secrets]
        return self.secrets[TLS_SECRETS[name]]

    def sensitive_values(self) -> list[str]:
        """Every value that must never appear in an error message."""
        values = list(self.secrets.values())
        values += [str(self.config[k]) for k in self.secret_config_keys if k in self.config]
        return [value for value in values if len(value) >= 4]


def substitute(text: str, resolver: Resolver) -> ConfigValue:
    """Fill in one scalar. A scalar that is exactly one config variable keeps the field's
    type (an int field gives an int); anything else gives text."""
    try:
        pieces = parse_template(text)
    except TemplateSyntaxError as exc:
        raise VariableProblem(str(exc)) from None
    if len(pieces) == 1 and isinstance(pieces[0], Variable):
        return resolver.resolve(pieces[0])
    return "".join(
        piece if isinstance(piece, str) else as_text(resolver.resolve(piece)) for piece in pieces
    )


def as_text(value: ConfigValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
