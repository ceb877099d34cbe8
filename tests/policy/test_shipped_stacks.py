"""The dev and prod stack programs, built from their shipped stack files under Pulumi's mocks
(tests/stacks/test_gcp_stack.py), pass every rule of the policy pack. (The local stack passes
it under the real CLI: test_pack_engine.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pulumi
import pytest

from policy import rules
from tests.stacks.gcp_mocks import CRYPTO_KEY, deploy, stack_file_config, with_datasets

DAY = date(2026, 12, 1)


@pytest.fixture(autouse=True)
def _a_clean_runtime() -> Iterator[None]:
    yield
    pulumi.runtime.set_all_config({})
    pulumi.runtime.reset_options()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_shipped_cloud_stacks_pass_the_pack(stack: str, tmp_path: Path) -> None:
    deployment = deploy(with_datasets(stack_file_config(stack), tmp_path), stack)  # built on its own fixed day
    found = [
        (policy.name, message)
        for resource in deployment.resources.values()
        for policy in rules.POLICIES
        for message in policy.violations(rules.Resource(resource.type, resource.name, resource.inputs), today=DAY)
    ]
    assert rules.TUNING_JOB_TYPE in {r.type for r in deployment.resources.values()}
    # The stacks create their key whatever the base model, and encrypt the bucket with it.
    assert deployment.of_type(CRYPTO_KEY)
    assert found == []
