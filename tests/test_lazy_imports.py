"""What the fast paths import: a preview's check and diff, and the CLI's validate, never load
google-genai (about 0.4 s), which only calls to Vertex need."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# A check with the data check off (the stack programs' case: they check the files before the
# upload); with it on, check reads the gs:// object through google-cloud-storage.
_CHECK_AND_DIFF = """
import sys
from tuning_provider.provider import TuningJobProvider
provider = TuningJobProvider()
news = dict(project="lazy-project", location="us-central1", base_model="gemini-3.5-flash",
            training_dataset_uri="gs://bucket/train.jsonl", epoch_count=2, adapter_size=4, validate_dataset=False)
checked = provider.check({}, news)
assert not checked.failures, checked.failures
olds = {**checked.inputs, "name": "n", "state": "SUCCEEDED", "tuned_model_name": "m", "tuned_model_endpoint": "e"}
assert provider.diff("n", olds, {**news, "epoch_count": 3}).replaces == ["epoch_count"]
print(sorted(m for m in sys.modules if m.startswith(("google.genai", "google.auth"))))
"""


def _run(*args: str) -> str:
    run = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, check=True)
    return run.stdout


def test_check_and_diff_do_not_import_google_genai() -> None:
    assert _run("-c", _CHECK_AND_DIFF).strip().splitlines()[-1] == "[]"


def test_validate_imports_neither_google_genai_nor_pydantic(tmp_path: Path) -> None:
    script = (
        "import runpy, sys\n"
        "sys.argv = ['tuning_provider', 'validate', 'examples/data/train.jsonl']\n"
        "try:\n    runpy.run_module('tuning_provider', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] + '.' + m.split('.')[1] if m.startswith('google.') else m.split('.')[0]\n"
        "              for m in sys.modules} & {'google.genai', 'google.auth', 'pydantic', 'pulumi'}))\n"
    )
    assert _run("-c", script).strip().splitlines()[-1] == "[]"
