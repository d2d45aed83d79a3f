"""The environment a child process (a task run, an installer) starts with: an allow-list taken
from the server's own environment, never the whole of it (it may hold the server's token, a
JupyterHub API token, cloud credentials)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

RUN_NAMES = ("PATH", "HOME", "LANG", "TZ")
RUN_PREFIXES = ("LC_",)
# What installing requirements needs beyond a run: proxies, certificates, pip's and uv's settings.
INSTALLER_NAMES = (
    *RUN_NAMES, "TMPDIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "XDG_CACHE_HOME",
)
INSTALLER_PREFIXES = (*RUN_PREFIXES, "PIP_", "UV_")


def allowed(environ: Mapping[str, str], names: Iterable[str], prefixes: tuple[str, ...] = ()) -> dict[str, str]:
    wanted = set(names)
    return {k: v for k, v in environ.items() if k in wanted or (prefixes and k.startswith(prefixes))}


def run_environ(environ: Mapping[str, str]) -> dict[str, str]:
    return allowed(environ, RUN_NAMES, RUN_PREFIXES)


def installer_environ(environ: Mapping[str, str]) -> dict[str, str]:
    return allowed(environ, INSTALLER_NAMES, INSTALLER_PREFIXES)
