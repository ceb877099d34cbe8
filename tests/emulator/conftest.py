"""Fixtures for driving the emulator with google-cloud-aiplatform: its generated v1 and
v1beta1 clients (REST transport) and the Vertex AI SDK, beside the google-genai ones of
tests/conftest.py.

- `gapic(client_class, emulator=None)`: a generated client (e.g. aiplatform_v1.ModelServiceClient)
  talking REST to the emulator over http (the scheme in `api_endpoint` is honoured).
- `clocked_emulator`: the shared emulator on the manual clock (jobs of JOB_DURATION seconds).
- `vertex_sdk`: `vertexai.init` pointed at `clocked_emulator` (api_transport="rest"); the
  SDK's global configuration is reset afterwards.
- `strict(payload, type_name, version, enums_as_numbers=False)`: parses response JSON with the
  generated type of that API version, refusing unknown fields (`REST_ONLY_FIELDS` aside, see
  `wire`), and checks it is canonical proto3 JSON (the parsed message writes it back the same).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from google.cloud import aiplatform, aiplatform_v1, aiplatform_v1beta1
from google.cloud.aiplatform import initializer
from google.oauth2.credentials import Credentials
from google.protobuf import json_format

from tests.aiplatform_reader import aiplatform_client
from tests.conftest import LOCATION, PROJECT
from tuning_provider.emulator import Emulator
from tuning_provider.emulator.http.wire import REST_ONLY_FIELDS

VERSIONS = {"v1": aiplatform_v1, "v1beta1": aiplatform_v1beta1}
# The Vertex AI SDK's tuning and generative modules warn that they are deprecated.
SDK_DEPRECATION = r"ignore:This feature is deprecated:UserWarning"
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


@pytest.fixture
def gapic(request: pytest.FixtureRequest) -> Callable[..., Any]:
    def make(client_class: type[Any], emulator: Emulator | None = None) -> Any:
        return aiplatform_client(client_class, emulator or request.getfixturevalue("emulator"))

    return make


@pytest.fixture
def clocked_emulator(emulator_factory: Callable[..., Emulator], manual_clock: Any) -> Emulator:
    return emulator_factory(clock=manual_clock)


@pytest.fixture
def vertex_sdk(clocked_emulator: Emulator) -> Iterator[Emulator]:
    aiplatform.init(
        project=PROJECT,
        location=LOCATION,
        api_endpoint=clocked_emulator.url,
        api_transport="rest",
        credentials=Credentials(token="test-token"),
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="This feature is deprecated", category=UserWarning)
        yield clocked_emulator
    # aiplatform.init is bound to this one object: reset it rather than replace it.
    initializer.global_config.__init__()  # type: ignore[misc]


def strict_parse(payload: Any, type_name: str, version: str, *, enums_as_numbers: bool = False) -> Any:
    """`payload` as the generated `type_name` of `version`, unknown fields refused."""
    message_class = getattr(VERSIONS[version], type_name)
    sent = _without_rest_only(payload)
    message = message_class.from_json(json.dumps(sent), ignore_unknown_fields=False)
    # Written as proto3 JSON writes it: the same JSON back (int64 as strings, enums by
    # name, no default values), timestamps compared as instants.
    written = json_format.MessageToDict(message_class.pb(message), use_integers_for_enums=enums_as_numbers)
    assert _instants(written) == _instants(sent), f"{type_name} is not canonical proto3 JSON"
    return message


def _instants(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _instants(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_instants(v) for v in value]
    if isinstance(value, str) and _TIMESTAMP.fullmatch(value):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def _without_rest_only(value: Any) -> Any:
    """`value` without the fields of REST_ONLY_FIELDS, wherever a TuningJob appears in it."""
    if isinstance(value, list):
        return [_without_rest_only(item) for item in value]
    if not isinstance(value, dict):
        return value
    is_job = "/tuningJobs/" in str(value.get("name", ""))
    return {
        key: _without_rest_only(item)
        for key, item in value.items()
        if not (is_job and key in REST_ONLY_FIELDS["TuningJob"])
    }


@pytest.fixture
def strict() -> Callable[..., Any]:
    return strict_parse
