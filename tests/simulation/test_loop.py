"""Arm selection for the simulation's experiments (pure: no database)."""
from types import SimpleNamespace

from simulation.loop import pick_diverse


def variants(*texts):
    return [SimpleNamespace(pk=i, content_hash=f"h{i}", text=t) for i, t in enumerate(texts)]


def test_pick_diverse_spreads_over_the_features():
    pool = variants("Trail sneakers, made to last", "Trail sneakers, built to last",
                    "Ready for rain? 🌧️ Meet our rain jackets", "Save 30% on trail sneakers. Shop now")
    picked = pick_diverse(pool, 3)
    assert picked[0].pk == 0 and len(picked) == 3
    assert {2, 3} <= {v.pk for v in picked}  # the question with an emoji and the discount, not the look-alike

