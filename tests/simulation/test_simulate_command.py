"""`manage.py simulate --base`: what it accepts before anything runs."""
import pytest
from django.core.management import CommandError, call_command

from simulation.management.commands.simulate import resolve_base


def test_a_base_that_is_not_a_model_directory_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(CommandError, match="not a Hugging Face model directory"):
        call_command("simulate", "--smoke", "--base", str(tmp_path))


def test_a_base_is_a_model_directory_or_dev(tmp_path, settings):
    (tmp_path / "config.json").write_text("{}")
    assert resolve_base(str(tmp_path)) == tmp_path.resolve()
    settings.DEV_MODEL_DIR = tmp_path
    assert resolve_base("dev") == tmp_path.resolve()
