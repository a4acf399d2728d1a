import json

import pytest
from django.core.management import CommandError, call_command

from models_store import dir_checksum
from prefcontent.content.models import Variant
from prefcontent.generation.export import MANIFEST
from tests.prefcontent.generation.factories import (
    BriefFactory,
    corrupt_adapter,
    publish_adapter,
)

pytestmark = pytest.mark.django_db


def test_export_adapter_copies_verified_files_and_names_the_base_model(brand, tiny_adapter_dir, tmp_path, capsys):
    adapter = publish_adapter(brand, tiny_adapter_dir, version=2, base_model_id="org/base-model")
    out = tmp_path / "export"
    call_command("export_adapter", "--brand", str(brand.pk), str(out))
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["base_model_id"] == "org/base-model" and manifest["adapter_version"] == 2
    assert manifest["sha256"] == adapter.sha256 and manifest["lora_rank"] == 8 and manifest["warnings"] == []
    assert {"adapter_config.json", "adapter_model.safetensors"} <= set(manifest["files"])
    (out / MANIFEST).unlink()
    assert dir_checksum(out) == adapter.sha256  # the files are byte-identical to the published adapter
    printed = capsys.readouterr().out
    assert "base model: org/base-model" in printed and "--enable-lora" in printed


def test_export_refuses_without_adapter_into_a_full_dir_or_from_corrupt_files(brand, tiny_adapter_dir, tmp_path):
    with pytest.raises(CommandError, match="no active adapter"):
        call_command("export_adapter", "--brand", str(brand.pk), str(tmp_path / "a"))
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_adapter", "--brand", "999999", str(tmp_path / "a"))
    adapter = publish_adapter(brand, tiny_adapter_dir)
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="not an empty directory"):
        call_command("export_adapter", "--brand", str(brand.pk), str(full))
    corrupt_adapter(adapter)
    with pytest.raises(CommandError, match="corrupt"):
        call_command("export_adapter", "--brand", str(brand.pk), str(tmp_path / "b"))
    assert not (tmp_path / "b").exists()


def test_generate_command_runs_in_process_with_provenance(brand, capsys):
    brief = BriefFactory(brand=brand)
    call_command("generate", "--brand", str(brand.pk), "--brief", str(brief.pk), "--n", "2", "--seed", "4",
                 "--temperature", "1.0", "--max-new-tokens", "8")
    out = capsys.readouterr().out
    assert "base model" in out and "seed 4" in out
    variants = Variant.objects.filter(brand=brand, brief=brief)
    assert variants.exists() and all(v.provenance["seed"] == 4 for v in variants)


def test_generate_command_reports_bad_input(brand):
    with pytest.raises(CommandError, match="n_above_cap"):
        call_command("generate", "--brand", str(brand.pk), "--product", "socks", "--n", "99")
    with pytest.raises(CommandError, match="empty_brief"):
        call_command("generate", "--brand", str(brand.pk))
