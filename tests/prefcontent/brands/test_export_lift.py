import json

from prefcontent.brands.export import brand_export
from tests.prefcontent.experiments.lift_data import weekly_history


def test_export_carries_the_lift_report(brand, tmp_path):
    weekly_history(brand, [0.2, 0.1])
    manifest = brand_export(brand=brand, out_dir=tmp_path / "export")
    lift = json.loads((tmp_path / "export" / manifest["lift"]).read_text())
    assert set(lift) == {"click", "conversion"}
    (channel,) = lift["click"]["channels"]
    assert channel["channel"] == "headline" and len(channel["weeks"]) == 2
    assert channel["overall"]["treated_readers"] == 1900 and channel["overall"]["holdout_readers"] == 100
