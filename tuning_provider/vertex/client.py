"""Clients of Vertex (google-genai) and Cloud Storage (google-cloud-storage), built from a
`Connection`: the one place that picks credentials, from what the connection says.

Vertex clients are kept per thread (`with_client`); `rest` is the one use of google-genai's
private request, for the REST calls it has no method for. Cloud Storage clients are built per
object read (`storage_client`). Errors are not handled here: callers run these inside
`boundary.call`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from tuning_provider.connection import GOOGLE_STORAGE_URL, Connection, Credentials, Service
from tuning_provider.lazy import lazy_module

if TYPE_CHECKING:
    from google.cloud.storage import Client as StorageClient  # type: ignore[import-untyped]
    from google.genai import Client, types
else:
    # Imported on first use: google-genai costs ~0.4 s, and a preview's check and diff, or the
    # CLI's validate, never reach Vertex.
    types = lazy_module("google.genai.types")
    StorageClient = Any

__all__ = ["rest", "storage_client", "vertex_client", "with_client"]

T = TypeVar("T")

# The bearer token the emulator is sent: it checks that one is present, not what it says.
_EMULATOR_TOKEN = "local-emulator"


def vertex_client(conn: Connection) -> Client:
    """A google-genai client for `conn`: Application Default Credentials, or a placeholder
    token for the emulator (never a Google credential: it is plain HTTP)."""
    from google.genai import Client

    options = types.HttpOptions(api_version="v1", timeout=round(conn.call_timeout * 1000))
    if conn.vertex.url is not None:
        options.base_url = conn.vertex.url + "/"
    credentials = None  # google-genai then finds Application Default Credentials itself
    if conn.vertex.credentials is Credentials.NONE:
        from google.oauth2.credentials import Credentials as TokenCredentials

        credentials = TokenCredentials(token=_EMULATOR_TOKEN)  # type: ignore[no-untyped-call]
    return Client(vertexai=True, project=conn.project, location=conn.location, credentials=credentials,
                  http_options=options)


def storage_client(service: Service) -> StorageClient:
    """A google-cloud-storage client for `service`: at its URL, with Application Default
    Credentials or anonymously for an emulator. Both are given explicitly, so the environment
    ($STORAGE_EMULATOR_HOST, which `connect` has read already) cannot change them behind the
    connection's back. Close it after use."""
    import google.auth
    import google.auth.credentials
    from google.cloud import storage  # type: ignore[import-untyped]  # no type information

    credentials: google.auth.credentials.Credentials
    if service.credentials is Credentials.NONE:
        credentials = google.auth.credentials.AnonymousCredentials()  # type: ignore[no-untyped-call]
    else:
        credentials, _ = google.auth.default()
    # project=None: reading an object needs none, and looking one up costs a metadata call.
    return storage.Client(project=None, credentials=credentials,
                          client_options={"api_endpoint": service.url or GOOGLE_STORAGE_URL})


# Clients a thread keeps for reuse, per Connection. Building one costs ~55 ms of CPU (two TLS
# contexts loading the CA bundle, and Application Default Credentials), and a waiting create
# makes about five calls per poll: with fresh clients, eight jobs' polls kept a core busy.
_MAX_CLIENTS_PER_THREAD = 4
_clients = threading.local()


def with_client(conn: Connection, use: Callable[[Client], T]) -> T:
    """Run one call on this thread's client for `conn`, built on first use and kept.

    One thread, one client at a time: google-genai's sync client is not documented as safe to
    share between threads. A thread keeps its last few clients (a process that talks to many
    emulators closes the oldest), and a client is closed with its thread. A client must be
    held while it is used: google-genai closes a Client's HTTP connection when the Client is
    garbage collected (`vertex_client(conn).tunings.get(...)` fails with "the client has been
    closed")."""
    kept: dict[Connection, Client] = _clients.__dict__.setdefault("by_connection", {})
    client = kept.pop(conn, None)
    if client is None:
        client = vertex_client(conn)
        if len(kept) >= _MAX_CLIENTS_PER_THREAD:
            kept.pop(next(iter(kept))).close()
    kept[conn] = client  # the most recently used last
    return use(client)


def rest(conn: Connection, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Vertex REST call google-genai has no method for, on this thread's client."""
    return with_client(conn, lambda client: _genai_private_request(client, method, path, body or {}))


def _genai_private_request(client: Client, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """One Vertex REST call through google-genai's private HTTP client: the only use of
    google-genai internals in this project.

    google-genai has no public method for endpoints (get, undeployModel, delete), datasets
    (get), model versions (listVersions, deleteVersion), an experiment's metadata contexts or
    TensorBoard time series. Sending them through the same Client keeps credentials, the base
    URL (the emulator's), timeouts and error parsing (`genai_errors.APIError`, translated by
    `boundary.call`) the same as for the public calls.

    The risk, named: `Client._api_client.request(method, path, body)` and the `.body` of what
    it returns are private to google-genai. They are read from the pinned release
    (requirements.txt: google-genai==3.4.0; pyproject allows <4). A release may rename or change
    them without notice: every call here then fails with AttributeError or TypeError, not an
    ApiError, and tests/provider and tests/vertex (which reach the emulator through this) fail.
    Check this function when moving the pin; the replacement would be google-auth's
    AuthorizedSession with the base URL and errors handled here.
    """
    response = client._api_client.request(method, path, body)
    return json.loads(response.body) if response.body else {}
