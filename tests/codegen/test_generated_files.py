"""The committed SDK (tuning_provider/resource.py) and reference (docs/reference.md) are what
the spec gives, and the generator refuses a field it could not document or type."""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import subprocess
import sys

import pytest
from pydantic import BaseModel, Field

from tools import codegen
from tuning_provider.resource import TuningJob, TuningJobArgs
from tuning_provider.spec import TuningJobOutputs, TuningJobSpec


@pytest.mark.parametrize("path", sorted(codegen.generated_files()), ids=str)
def test_the_committed_file_is_what_the_spec_gives(path) -> None:
    wanted = codegen.generated_files()[path]
    committed = (codegen.ROOT / path).read_text()
    diff = "".join(list(difflib.unified_diff(
        committed.splitlines(keepends=True), wanted.splitlines(keepends=True), "committed", "from the spec"
    ))[:40])
    assert committed == wanted, (
        f"{path} is not what tuning_provider/spec/ gives: run `make sdk` "
        f"(python -m tools.codegen) and commit the result.\n{diff}"
    )


def test_check_mode_names_no_file_when_current() -> None:
    run = subprocess.run([sys.executable, "-m", "tools.codegen", "--check"],
                         capture_output=True, text=True, cwd=codegen.ROOT, check=False)
    assert (run.returncode, run.stderr) == (0, "")


def test_check_mode_names_each_stale_file_and_the_command(tmp_path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / codegen.REFERENCE).write_text("an old table\n")
    assert codegen.stale_files(tmp_path) == [codegen.RESOURCE, codegen.REFERENCE]


def test_the_args_hold_every_input_but_the_one_the_resource_sets() -> None:
    fields = {f.name: f for f in dataclasses.fields(TuningJobArgs)}
    assert list(fields) == [name for name in TuningJobSpec.model_fields if name != "resource_key"]
    required = {name for name, f in fields.items() if f.default is dataclasses.MISSING}
    assert required == {name for name, info in TuningJobSpec.model_fields.items() if info.is_required()}


def test_every_input_a_user_passes_and_every_output_is_a_documented_property() -> None:
    for name in [*(f.name for f in dataclasses.fields(TuningJobArgs)), *TuningJobOutputs.model_fields]:
        attribute = inspect.getattr_static(TuningJob, name)
        assert isinstance(attribute, property) and attribute.__doc__, name


def test_a_field_without_a_description_is_refused_with_the_fix() -> None:
    class Outputs(BaseModel):
        name: str = Field(description="The job's name.")
        cost: float | None = None

    fix = r"Outputs\.cost has no description: add Field\(description=\.\.\.\)"
    with pytest.raises(codegen.CodegenError, match=fix):
        codegen.render_resource(Outputs)


def test_a_type_it_cannot_write_is_refused_naming_it() -> None:
    class Outputs(BaseModel):
        tags: set[str] = Field(description="Tags.")

    with pytest.raises(codegen.CodegenError, match=r"cannot write the type set\[str\] as an output"):
        codegen.render_reference(Outputs)
