"""Stack configuration errors, as a person editing stacks/Pulumi.<stack>.yaml meets them: every
problem at once, each with the file and line, the key path, the bad value and the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from stacks.config import check_stack_file, load_config
from stacks.config_file import key_lines, read_stack_file, stack_file
from tuning_provider.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def write_stack(tmp_path: Path, text: str, stack: str = "dev") -> Path:
    """A project folder like this one (stackConfigDir: stacks) holding one stack file."""
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    path = stack_file(stack, tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def stack_text(stack: str, **changes: Any) -> str:
    """This repository's stack file with `changes` applied to its tuning:* keys (None removes)."""
    document = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    for key, value in changes.items():
        if value is None:
            document["config"].pop(key)
        else:
            document["config"][key] = value
    return yaml.safe_dump(document, sort_keys=False)


def load(path: Path) -> Any:
    return check_stack_file(path)


def test_a_typo_and_a_bad_region_are_both_reported_with_the_file_the_lines_and_the_fix(tmp_path: Path) -> None:
    job = yaml.safe_load(stack_text("dev"))["config"]["tuning:job"]
    job["epoch_cout"] = job.pop("epoch_count")
    path = write_stack(tmp_path, stack_text("dev", **{"tuning:region": "us-central9", "tuning:job": job}))
    with pytest.raises(ConfigError) as caught:
        load(path)
    error = caught.value
    assert sorted(error.keys) == ["tuning:job.epoch_cout", "tuning:region"]
    lines = key_lines(path)
    text = str(error)
    assert text.startswith(f"2 problems with the stack configuration in {error.source}:")
    assert Path(error.source or "").resolve() == path.resolve()
    assert (f"{error.source}:{lines['tuning:region']}: tuning:region: 'us-central9' does not run Gemini tuning jobs"
            in text)
    assert f"{error.source}:{lines['tuning:job.epoch_cout']}: tuning:job.epoch_cout: 'epoch_cout' is not a " \
           "TuningJob input; did you mean epoch_count? valid keys: adapter_size, api_outage_tolerance_seconds, " \
           "base_model," in text
    assert text.count("us-central9") == 1  # reported once, as the region, not again as the job's location


def test_a_misspelt_top_level_key_suggests_the_one_meant(tmp_path: Path) -> None:
    config = yaml.safe_load(stack_text("dev"))["config"]
    config["tuning:keyRotationDay"] = config.pop("tuning:keyRotationDays")
    path = write_stack(tmp_path, yaml.safe_dump({"config": config}))
    with pytest.raises(ConfigError) as caught:
        load(path)
    (problem,) = caught.value.problems
    assert problem.key == "tuning:keyRotationDay"
    assert problem.message.startswith(
        "'keyRotationDay' is not a setting of this project; did you mean keyRotationDays?"
    )
    assert problem.line == key_lines(path)["tuning:keyRotationDay"]


@pytest.mark.parametrize(
    ("value", "words"),
    [(True, "must be a number, not the boolean true"),
     ("3", "must be a number, not the string '3' (write it without quotes; "
            "with `pulumi config set`, add --type float or --type int)")],
)
def test_booleans_and_strings_do_not_pass_as_numbers(tmp_path: Path, value: Any, words: str) -> None:
    job = {**yaml.safe_load(stack_text("local"))["config"]["tuning:job"], "epoch_count": value}
    path = write_stack(tmp_path, stack_text("local", **{"tuning:job": job}), stack="local")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.keys == ["tuning:job.epoch_count"]
    assert words in str(caught.value)


def test_a_bad_region_of_the_local_stack_is_reported_as_tuning_region(tmp_path: Path) -> None:
    path = write_stack(tmp_path, stack_text("local", **{"tuning:region": "us-central9"}), stack="local")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.keys == ["tuning:region"]
    assert "location" not in str(caught.value)


def test_a_region_the_base_model_is_not_tuned_in_names_the_region_setting_as_the_fix(tmp_path: Path) -> None:
    job = {**yaml.safe_load(stack_text("local"))["config"]["tuning:job"], "base_model": "gemini-3.5-flash"}
    path = write_stack(tmp_path, stack_text("local", **{"tuning:region": "us-east5", "tuning:job": job}), "local")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.keys == ["tuning:region"]
    assert "gemini-3.5-flash is tuned only in europe-west4, us-central1; change tuning:region or base_model" in str(
        caught.value
    )


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    text = stack_text("dev").replace("config:\n", "config:\n  tuning:region: us-central1\n tuning:protect: [\n", 1)
    path = write_stack(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    line = text.splitlines().index(" tuning:protect: [") + 1
    message = str(caught.value)
    assert message.startswith(f"{caught.value.source}:")
    assert Path(caught.value.source or "").resolve() == path.resolve()
    assert "is not valid YAML" in message
    reported = int(message.split(":")[1])
    assert line <= reported <= line + 2  # the parser stops at the token it cannot place


def test_a_missing_setting_says_how_to_set_it(tmp_path: Path) -> None:
    path = write_stack(tmp_path, stack_text("dev", **{"tuning:project": None}))
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value).endswith(
        "tuning:project: is required; set it with `pulumi config set tuning:project VALUE`"
    )


def test_every_stack_file_of_the_repository_is_valid() -> None:
    for stack in ("local", "dev", "prod"):
        path = stack_file(stack, ROOT)
        assert load(path).project


def run_with_config(project: Path, stack: str, settings: dict[str, Any]) -> None:
    """Load the config as the running program does: from the engine's settings (Pulumi's own
    options, as the language host sets them), in the project folder `project`."""
    pulumi.runtime.reset_options(project="tuning", stack=stack, root_directory=str(project))
    pulumi.runtime.set_all_config({f"tuning:{key}": value if isinstance(value, str) else json.dumps(value)
                                   for key, value in settings.items()})
    try:
        load_config()
    finally:
        pulumi.runtime.set_all_config({})
        pulumi.runtime.reset_options()


def test_the_running_program_names_its_stack_file_and_lines(tmp_path: Path) -> None:
    path = write_stack(tmp_path, stack_text("dev", **{"tuning:region": "us-central9"}))
    with pytest.raises(ConfigError) as caught:
        run_with_config(tmp_path, "dev", read_stack_file(path, "tuning"))
    assert Path(caught.value.source or "").resolve() == path.resolve()
    assert caught.value.problems[0].line == key_lines(path)["tuning:region"]


def test_a_file_that_is_not_where_the_settings_came_from_is_not_named(tmp_path: Path) -> None:
    path = write_stack(tmp_path, stack_text("dev"))
    overridden = {**read_stack_file(path, "tuning"), "region": "us-central9"}  # e.g. `--config`
    with pytest.raises(ConfigError) as caught:
        run_with_config(tmp_path, "dev", overridden)
    assert caught.value.source is None
    assert str(caught.value).startswith("tuning:region: 'us-central9'")


def test_only_an_endpoint_on_this_machine_makes_the_local_stack(tmp_path: Path) -> None:
    # A private Vertex endpoint (Private Service Connect, behind VPC Service Controls) is a cloud
    # stack's: it creates the bucket, key and identities, and its jobs go to that endpoint.
    private = "https://us-central1-aiplatform-vpcsc.p.googleapis.com"
    remote = load(write_stack(tmp_path, stack_text("dev", **{"tuning:apiEndpoint": private})))
    assert remote.api_endpoint == private and not remote.emulated
    assert load(write_stack(tmp_path, stack_text("local"), stack="local")).emulated
    assert not load(write_stack(tmp_path, stack_text("dev"))).emulated
