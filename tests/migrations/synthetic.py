"""The sample migration planned on a synthetic fleet of any size (scale tests, the quota benchmark)."""

from __future__ import annotations

import shutil
from pathlib import Path

from fleet.files import load_document
from fleet.inputs import migration_texts
from migrations.planner import MigrationPlan, plan_migration
from model.manifest import manifest_file, parse_manifest
from tests.support.synthetic import synthetic_fleet, synthetic_plan

REPO = Path(__file__).resolve().parents[2]
SAMPLE = "2025-01-15-recipient-id-column"
# The sample's globs, for synthetic ids (`can-…`, `smb-<region>-…`, `ent-…`).
GLOBS = (("canary-*", "can-*"), ("[smb-us-1, smb-us-2]", "[smb-us-east-1-*]"), ("enterprise-*", "ent-*"))


def synthetic_migration(root: Path, size: int) -> MigrationPlan:
    """The sample migration on `size` synthetic cells (the fleet in memory; the manifest copied under `root`)."""
    folder = root / "migrations" / SAMPLE
    shutil.copytree(REPO / "migrations" / SAMPLE, folder, dirs_exist_ok=True)
    manifest = root / manifest_file(SAMPLE)
    text = (REPO / manifest_file(SAMPLE)).read_text(encoding="utf-8")
    for old, new in GLOBS:
        text = text.replace(old, new)
    manifest.write_text(text, encoding="utf-8")
    fleet = synthetic_fleet(size)
    doc = load_document(manifest, root)
    return plan_migration(parse_manifest(doc, SAMPLE), doc, fleet, synthetic_plan(fleet), migration_texts(root, SAMPLE))
