"""docs/cloud.md, the one-time cloud setup: least-privilege roles and Cloud KMS for stack secrets."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "cloud.md").read_text()
PRIMITIVE_ROLES = ("roles/viewer", "roles/editor", "roles/owner")


def granted_roles() -> list[str]:
    return re.findall(r"--role=(\S+)", DOC)


def test_no_primitive_role_is_granted() -> None:
    assert granted_roles()
    assert not set(granted_roles()) & set(PRIMITIVE_ROLES)


def test_the_preview_identity_gets_predefined_read_only_roles() -> None:
    preview = re.findall(r"--role=(\S+) \\\n\s+--member=serviceAccount:pulumi-preview@", DOC)
    assert preview == ["roles/iam.serviceAccountViewer", "roles/aiplatform.viewer", "roles/cloudkms.cryptoKeyDecrypter"]


def test_stack_secrets_default_to_cloud_kms_and_ci_keeps_no_passphrase() -> None:
    assert "pulumi stack init dev --secrets-provider=gcpkms://" in DOC
    ci_settings = DOC[DOC.index("5. **GitHub repository settings.**"):]
    assert "Secrets: none." in ci_settings
