"""Where a job's Google services are, and which credentials each takes: one value, built once.

`connect` is the one place that turns what a user gave (project, region, `tuning:apiEndpoint`
or `--api-endpoint`, `tuning:storageEndpoint` or `--storage-endpoint`, $STORAGE_EMULATOR_HOST)
into a `Connection`, and the one place that decides whether it is the emulator. Everything
else asks the value: the provider and the command line build clients from it
(`tuning_provider.vertex`), check reads gs:// data where it says, and the stack program asks
`emulator` to choose between the local stack and the cloud ones.

The rules:
- Vertex: `api_endpoint` when given (the emulator, a regional, private (Private Service
  Connect) or VPC Service Controls endpoint), else Google's regional endpoint.
- The emulator is an `http://` endpoint on this machine (localhost, 127.0.0.0/8, ::1): it is
  reached with a placeholder token, never with Google credentials. Any other endpoint is
  Google's, reached with Application Default Credentials.
- Cloud Storage: `storage_endpoint` when given (Application Default Credentials, unless it too
  is on this machine); else, for the emulator, the emulator itself (it serves the gs:// objects
  its jobs read); else $STORAGE_EMULATOR_HOST when set (a storage emulator: no credentials);
  else Google's storage host with Application Default Credentials. A remote `api_endpoint`
  never moves Cloud Storage: a private Vertex endpoint does not serve gs:// objects.

Plain data with no credential on it: safe to pickle, to log and to key a cache with. Imports
nothing of google-genai or google-cloud-storage.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from tuning_provider.names import TuningJobName, parent

__all__ = [
    "GOOGLE_STORAGE_URL",
    "STORAGE_EMULATOR_VARIABLE",
    "Connection",
    "Credentials",
    "Service",
    "connect",
    "on_this_machine",
    "storage_service",
]

# The variable google-cloud-storage and other Google tools read for a storage emulator.
STORAGE_EMULATOR_VARIABLE = "STORAGE_EMULATOR_HOST"
# Cloud Storage's own host.
GOOGLE_STORAGE_URL = "https://storage.googleapis.com"


class Credentials(enum.Enum):
    """Which credentials a client of one service is built with."""

    APPLICATION_DEFAULT = "Application Default Credentials"
    # An emulator's: a placeholder bearer token for Vertex, anonymous for Cloud Storage.
    NONE = "no credentials (an emulator)"


@dataclass(frozen=True)
class Service:
    """Where one service answers and how a client reaches it."""

    url: str | None  # a base URL; None: the client library's default (Vertex's regional endpoint)
    credentials: Credentials


@dataclass(frozen=True)
class Connection:
    """A project and region, and where Vertex and Cloud Storage are for them. Build it with
    `connect`; `at` re-aims it at another project or region with the same services."""

    project: str
    location: str
    vertex: Service
    storage: Service
    # How long one call waits for its answer before it counts as unanswered (and is retried).
    call_timeout: float = 60.0

    @property
    def emulator(self) -> bool:
        """Whether Vertex is the local emulator (decided by `connect`, nowhere else)."""
        return self.vertex.credentials is Credentials.NONE

    def at(self, project: str, location: str) -> Connection:
        """The same services for a resource in another project or region."""
        return dataclasses.replace(self, project=project, location=location)

    def resource_prefix(self) -> str:
        return parent(self.project, self.location)

    def job_name(self, name_or_id: str) -> str:
        """A job's full resource name from its name or bare numeric id."""
        return name_or_id if "/" in name_or_id else str(TuningJobName(self.project, self.location, name_or_id))


def connect(
    project: str,
    location: str,
    api_endpoint: str | None = None,
    *,
    storage_endpoint: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Connection:
    """The Connection for `project` and `location` from what the user gave (the rules are in
    this module's docstring). `environ` is read for $STORAGE_EMULATOR_HOST (None: os.environ)."""
    vertex_url = _base_url(api_endpoint)
    emulator = vertex_url is not None and on_this_machine(vertex_url)
    vertex = Service(vertex_url, Credentials.NONE if emulator else Credentials.APPLICATION_DEFAULT)
    storage = storage_service(storage_endpoint, emulator=vertex_url if emulator else None, environ=environ)
    return Connection(project, location, vertex, storage)


def storage_service(
    storage_endpoint: str | None = None, *, emulator: str | None = None, environ: Mapping[str, str] | None = None
) -> Service:
    """Where Cloud Storage is, by the rules in this module's docstring: `storage_endpoint`,
    else the Vertex `emulator` (its URL), else $STORAGE_EMULATOR_HOST, else Google's. For a
    read of gs:// data with no Vertex behind it (`validate`), and for `connect`."""
    given = _base_url(storage_endpoint)
    if given is not None:
        return Service(given, Credentials.NONE if on_this_machine(given) else Credentials.APPLICATION_DEFAULT)
    if emulator is not None:
        return Service(emulator, Credentials.NONE)
    variable = _base_url((os.environ if environ is None else environ).get(STORAGE_EMULATOR_VARIABLE))
    if variable is not None:
        return Service(variable, Credentials.NONE)
    return Service(GOOGLE_STORAGE_URL, Credentials.APPLICATION_DEFAULT)


def on_this_machine(url: str) -> bool:
    """Whether `url` is plain HTTP to this machine: what the emulator serves, and what no
    Google endpoint is (those are HTTPS, a tunnel to one included)."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    if parsed.scheme != "http":
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _base_url(value: str | None) -> str | None:
    """A base URL without its trailing slash; "host:port" (as $STORAGE_EMULATOR_HOST is often
    written) is taken as http://host:port. None for nothing given."""
    text = (value or "").strip().rstrip("/")
    if not text:
        return None
    return text if "://" in text else f"http://{text}"
