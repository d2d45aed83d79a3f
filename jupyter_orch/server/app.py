"""OrchApp: the jupyter_server extension that embeds the engine and serves the REST API."""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Int, Unicode, default

from ..engine import Engine, EngineConfig
from . import connections, orchestrations, workspaces  # noqa: F401  (modules register their routes)
from .base import ROUTES
from .events import EventsSocket

URL_ENV = "JUPYTER_ORCH_URL"
TOKEN_ENV = "JUPYTER_ORCH_TOKEN"


class OrchApp(ExtensionApp):
    name = "jupyter_orch"
    load_other_extensions = True

    data_dir = Unicode(help="Where jupyter-orch keeps its database, blobs, environments and logs.").tag(config=True)
    max_upload_bytes = Int(256 * 1024 * 1024, help="Largest accepted upload (413 above).").tag(config=True)
    max_unpacked_bytes = Int(1024 * 1024 * 1024, help="Largest unpacked size of an orchestration zip.").tag(config=True)
    max_zip_files = Int(10_000, help="Most files an orchestration zip may hold.").tag(config=True)
    installer = Unicode("auto", help="Requirement installer: 'uv', 'pip' or 'auto' (uv when present).").tag(config=True)

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return str(Path(jupyter_data_dir()) / "orch")

    def engine_config(self) -> EngineConfig:
        return EngineConfig(
            data_dir=Path(self.data_dir),
            max_upload_bytes=self.max_upload_bytes,
            max_unpacked_bytes=self.max_unpacked_bytes,
            max_zip_files=self.max_zip_files,
            installer=self.installer,
        )

    def initialize_settings(self) -> None:
        self.engine = Engine(self.engine_config())
        self.settings["orch_engine"] = self.engine

    def initialize_handlers(self) -> None:
        self.handlers.extend(ROUTES)
        self.handlers.append((r"/v1/api/events", EventsSocket))

    async def _start_jupyter_server_extension(self, serverapp) -> None:  # type: ignore[no-untyped-def]
        # Kernels and task runs started from here find the server through these variables.
        os.environ[URL_ENV] = serverapp.connection_url
        os.environ[TOKEN_ENV] = serverapp.identity_provider.token or ""
        self.engine.config.server_url = serverapp.connection_url
        self.engine.config.server_token = serverapp.identity_provider.token or ""
        await self.engine.start()

    async def stop_extension(self) -> None:
        await self.engine.stop()


main = launch_new_instance = OrchApp.launch_instance
