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


def test_a_packaged_base_is_found_where_install_base_model_puts_it(tmp_path, settings):
    from prefcontent.training.management.commands.install_base_model import installed_path

    settings.MODELS_STORE_URL = f"file://{tmp_path / 'store'}"
    with pytest.raises(CommandError, match="install_base_model smollm2"):
        resolve_base("smollm2")
    target = installed_path("smollm2")
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")
    assert resolve_base("smollm2") == target.resolve()
