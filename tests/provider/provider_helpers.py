"""The provider tests' common ground: a configured TuningJobProvider, a job's inputs, and the
jobs an emulator holds."""


from datetime import date
from typing import Any

from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from tuning_provider import vertex
from tuning_provider.provider import API_ENDPOINT_KEY, TuningJobProvider
from tuning_provider.spec import TuningJobSpec

PROJECT, LOCATION = "test-project", "us-central1"


# Days to judge base models on: before the gemini-2.5 models retired (one took a CMEK key) and after.
BEFORE_THE_2_5_RETIREMENT, AFTER_THE_2_5_RETIREMENT = date(2026, 9, 1), date(2026, 11, 30)


def make_provider(url: str, **seams: Any) -> TuningJobProvider:
    """A configured provider; `seams` (today, read_metric_series) go to its constructor."""
    provider = TuningJobProvider(**seams)
    provider.configure(ConfigureRequest(Config({API_ENDPOINT_KEY: url}, "tuning")))
    return provider


def inputs(train_uri: str, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "project": PROJECT,
        "location": LOCATION,
        "base_model": "gemini-3.5-flash",
        "training_dataset_uri": train_uri,
        "epoch_count": 2,
        "adapter_size": 4,
        "tuned_model_display_name": "reviews",
        "labels": {"team": "ml"},
        "poll_interval_seconds": 0.2,
        "wait_timeout_seconds": 60,
        "resource_key": "tuning/test/reviews",
        # Most tests name data that is not in the emulator's bucket: they turn the data check
        # (on by default) off, and the tests of that check turn it on.
        "validate_dataset": False,
    }
    base.update(overrides)
    return base


def checked(provider: TuningJobProvider, raw: dict[str, Any]) -> dict[str, Any]:
    result = provider.check({}, raw)
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return result.inputs


def normalised(raw: dict[str, Any]) -> dict[str, Any]:
    """Inputs as check normalises them, without check's look-ups (existing_job_name's job)."""
    return TuningJobSpec.model_validate(raw).model_dump()


def all_jobs(url: str) -> list[vertex.JobRecord]:
    return list(vertex.list_tuning_jobs(vertex.connect(PROJECT, LOCATION, url)))


def submitted(provider: TuningJobProvider, raw: dict[str, Any]) -> dict[str, Any]:
    """A job submitted and recorded while still live, as an older provider version did: the
    state the update and delete paths still meet in existing stacks."""
    spec = TuningJobSpec.model_validate(checked(provider, raw))
    job, _ = vertex.submit_or_adopt(vertex.connect(spec.project, spec.location, provider.api_endpoint), spec)
    assert job.live
    return {**spec.model_dump(), **job.outputs.model_dump()}



def succeeded_outs(provider: TuningJobProvider, **overrides: Any) -> dict[str, Any]:
    """Old outputs as create leaves them, without running a job."""
    outs = checked(provider, inputs("gs://tuning-data/data/train.jsonl", **overrides))
    outs.update(name="projects/p/locations/l/tuningJobs/1", state="SUCCEEDED", __provider="x",
                tuned_model_name="projects/p/locations/l/models/2@1",
                tuned_model_endpoint="projects/p/locations/l/endpoints/3")
    return outs
