"""The dev and prod stacks built under the mock engine (tests/stacks/gcp_mocks.py), once a
session: each as shipped (gemini-3.5-flash, which cannot take a customer-managed key for
tuning: the key and the encrypted bucket exist, the job runs without the key), and with the last
model that could (gemini-2.5-flash), on a day it could still be tuned, handed to the program as
its clock: the job then uses the key, and the Vertex AI agent is granted it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from tests.stacks.gcp_mocks import Deployment, deploy, stack_file_config, with_cmek_model, with_datasets


@pytest.fixture(scope="module", autouse=True)
def _clean_runtime() -> Iterator[None]:
    """Leave the Pulumi runtime as it was found: no mocks, no config, no root stack."""
    yield
    pulumi.runtime.set_all_config({})
    pulumi.runtime.reset_options()


@pytest.fixture(scope="session")
def dev_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return with_datasets(stack_file_config("dev"), tmp_path_factory.mktemp("dev"))


@pytest.fixture(scope="session")
def prod_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return with_datasets(stack_file_config("prod"), tmp_path_factory.mktemp("prod"))


@pytest.fixture(scope="session")
def dev_cmek_config(dev_config: dict[str, Any]) -> dict[str, Any]:
    return with_cmek_model(dev_config)


@pytest.fixture(scope="session")
def prod_cmek_config(prod_config: dict[str, Any]) -> dict[str, Any]:
    return with_cmek_model(prod_config)


def _deployed(variant: str, stack: str) -> Any:
    """A session fixture named `variant`: the stack program of `stack` run with the config of the
    fixture `{variant}_config`."""

    @pytest.fixture(scope="session", name=variant)
    def deployed(request: pytest.FixtureRequest) -> Deployment:
        return deploy(request.getfixturevalue(f"{variant}_config"), stack)

    return deployed


dev = _deployed("dev", "dev")
prod = _deployed("prod", "prod")
dev_cmek = _deployed("dev_cmek", "dev")
prod_cmek = _deployed("prod_cmek", "prod")


@pytest.fixture(params=["dev", "prod", "dev_cmek", "prod_cmek"])
def cloud(request: pytest.FixtureRequest) -> tuple[Deployment, dict[str, Any]]:
    """Each stack, as shipped and with a base model that takes the key."""
    return _variant(request)


@pytest.fixture(params=["dev_cmek", "prod_cmek"])
def keyed(request: pytest.FixtureRequest) -> tuple[Deployment, dict[str, Any]]:
    """Each stack with a base model that can take a customer-managed key: the job uses it."""
    return _variant(request)


@pytest.fixture(params=["dev", "prod"])
def keyless(request: pytest.FixtureRequest) -> tuple[Deployment, dict[str, Any]]:
    """Each stack as shipped: its base model cannot take a key, so the job runs without one."""
    return _variant(request)


def _variant(request: pytest.FixtureRequest) -> tuple[Deployment, dict[str, Any]]:
    """The deployment a parametrised fixture's param names, and its config."""
    return request.getfixturevalue(request.param), request.getfixturevalue(f"{request.param}_config")
