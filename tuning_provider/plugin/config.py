"""The plugin's provider configuration: `vertex-tuning:apiEndpoint`, `:storageEndpoint`,
`:project`, `:location`.

`apiEndpoint` points the plugin at a Vertex API of its own (the emulator: `make emulator`
prints its URL), the way `tuning:apiEndpoint` does for the dynamic provider; absent, the plugin
reaches Vertex with Application Default Credentials. `storageEndpoint` is where check reads
gs:// data, as `tuning:storageEndpoint` (connection.connect says how both are read). `project`
and `location` are what a user
expects of a provider: the default of every TuningJob that sets none (a TuningJob's own value
wins). They are the spec's own fields, judged by its rules.

A configuration value is never logged, and never recorded in a TuningJob's state except as the
project or location a job runs in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from tuning_provider.plugin.properties import PACKAGE, property_name
from tuning_provider.spec import TuningJobSpec, spec_problems

__all__ = ["API_ENDPOINT", "DEFAULTED_INPUTS", "STORAGE_ENDPOINT", "ProviderConfig", "config_problems", "variables"]

API_ENDPOINT = "apiEndpoint"
STORAGE_ENDPOINT = "storageEndpoint"
# Inputs a provider's configuration gives every TuningJob that sets none of its own.
DEFAULTED_INPUTS = ("project", "location")
# Keys the engine itself keeps in a provider's inputs (pkg/resource/deploy/providers).
_ENGINE_KEYS = frozenset({"version"})
_API_ENDPOINT_DESCRIPTION = (
    "Base URL of the Vertex AI API the plugin calls instead of Vertex's own (the emulator: "
    "http://127.0.0.1:PORT). Unset: Vertex AI with Application Default Credentials."
)
_STORAGE_ENDPOINT_DESCRIPTION = (
    "Base URL of the Cloud Storage API a preview reads gs:// training data from. Unset: the emulator "
    "itself when apiEndpoint is one, else $STORAGE_EMULATOR_HOST, else Cloud Storage."
)


@dataclass(frozen=True)
class ProviderConfig:
    """A configured provider: where Vertex is, and the inputs every TuningJob gets by default."""

    api_endpoint: str | None = None
    storage_endpoint: str | None = None
    defaults: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> ProviderConfig:
        """The configuration in a provider's (checked) config values, keyed as `variables`."""
        defaults = {f: str(values[property_name(TuningJobSpec, f)]) for f in DEFAULTED_INPUTS
                    if values.get(property_name(TuningJobSpec, f))}
        endpoint, storage = values.get(API_ENDPOINT), values.get(STORAGE_ENDPOINT)
        return cls(str(endpoint) if endpoint else None, str(storage) if storage else None, defaults)

    def applied(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """A TuningJob's inputs (field names) with this provider's defaults where it sets none."""
        return {**{f: v for f, v in self.defaults.items() if inputs.get(f) is None}, **inputs}


def variables() -> dict[str, str]:
    """Each configuration key (as `vertex-tuning:KEY`) and what it means, for the schema."""
    found = {API_ENDPOINT: _API_ENDPOINT_DESCRIPTION, STORAGE_ENDPOINT: _STORAGE_ENDPOINT_DESCRIPTION}
    for name in DEFAULTED_INPUTS:
        described = " ".join((TuningJobSpec.model_fields[name].description or "").split()).rstrip(".")
        found[property_name(TuningJobSpec, name)] = (
            f"{described}, for every TuningJob of this provider that sets no {property_name(TuningJobSpec, name)} "
            "of its own."
        )
    return found


def config_problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, sentence naming the fix) for each configuration value that is wrong."""
    problems: list[tuple[str, str]] = []
    known = variables()
    for key in values:
        if key not in known and key not in _ENGINE_KEYS and not key.startswith("__"):
            problems.append((key, f"{PACKAGE}:{key} is not a setting of the {PACKAGE} provider; its settings are "
                                  f"{', '.join(f'{PACKAGE}:{k}' for k in known)}"))
    for key in (API_ENDPOINT, STORAGE_ENDPOINT):
        endpoint = values.get(key)
        url = urlparse(str(endpoint)) if endpoint else None
        if url is not None and (url.scheme not in ("http", "https") or not url.netloc):
            problems.append((key, f"{endpoint!r} is not a URL: write it as http://HOST:PORT (the emulator) "
                                  f"or https://HOST, or unset {PACKAGE}:{key} to reach Google's"))
    given = {f: values[property_name(TuningJobSpec, f)] for f in DEFAULTED_INPUTS
             if values.get(property_name(TuningJobSpec, f))}
    for problem in spec_problems(given):
        if problem.field in given:
            key = property_name(TuningJobSpec, problem.field)
            problems.append((key, f"{PACKAGE}:{key}: {problem.message}"))
    return problems
