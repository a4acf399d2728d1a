import pytest

from prefcontent.generation.evidence import EvidenceModel, EvidenceSettings, TestedCopy

TESTED = [
    TestedCopy("Save 30% on running shoes.", successes=600, trials=10_000),  # 6 %
    TestedCopy("Meet the new trail sneakers.", successes=200, trials=10_000),  # 2 %
    TestedCopy("Ready for the weekend? Try cold brew.", successes=400, trials=10_000),  # 4 %
]


def test_nothing_tested_gives_no_evidence():
    model = EvidenceModel([])
    assert model.tested == [] and model.mean_rate == 0.0 and model.spread == 0.0
    assert model.predict("Save 30% on running shoes.") == 0.0
    assert model.standardized_rate(model.predict("anything")) == 0.0


def test_variants_without_impressions_are_ignored():
    model = EvidenceModel([TestedCopy("Shop now.", 0, 0)])
    assert model.tested == []


def test_a_tested_text_gets_close_to_its_own_rate_and_an_unlike_one_keeps_the_mean():
    model = EvidenceModel(TESTED)
    assert model.mean_rate == pytest.approx(0.04)
    assert model.predict("Save 30% on running shoes.") > 0.05
    assert model.predict("Meet the new trail sneakers.") < 0.03
    assert model.predict("Zzz qqq xxx") == pytest.approx(0.04)  # no shared trigram: weight 0


def test_copy_like_a_winner_ranks_above_copy_like_a_loser():
    model = EvidenceModel(TESTED)
    like_winner = model.predict("Save 25% on running shoes.")
    like_loser = model.predict("Meet the new trail sneakers today.")
    assert like_winner > model.mean_rate > like_loser
    assert model.standardized_rate(like_winner) > 0 > model.standardized_rate(like_loser)


def test_a_small_test_moves_the_estimate_less_than_a_large_one():
    small = EvidenceModel([*TESTED[1:], TestedCopy("Save 30% on running shoes.", 12, 200)])
    large = EvidenceModel([*TESTED[1:], TestedCopy("Save 30% on running shoes.", 600, 10_000)])
    text = "Save 30% on running shoes."
    assert small.predict(text) - small.mean_rate < large.predict(text) - large.mean_rate


def test_standardized_rate_is_in_standard_deviations_of_the_tested_copy():
    model = EvidenceModel(TESTED)
    assert model.spread > 0
    assert model.standardized_rate(model.mean_rate + 2 * model.spread) == pytest.approx(2.0)


@pytest.mark.parametrize("bad", [EvidenceSettings(neighbours=0), EvidenceSettings(sharpness=-1),
                                      EvidenceSettings(prior_trials=0)])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError):
        EvidenceModel(TESTED, bad)


def _reference_predict(model, text):
    """The pure-Python estimate the sparse one replaced, kept to check the numbers stay the same."""
    import heapq

    from prefcontent.core.text import trigram_similarity

    s = model.settings
    nearest = heapq.nlargest(s.neighbours, ((trigram_similarity(text, t.text), t) for t in model.tested),
                             key=lambda pair: pair[0])
    successes = trials = 0.0
    for sim, t in nearest:
        weight = sim ** s.sharpness
        successes += weight * t.successes
        trials += weight * t.trials
    return model._shrink(successes, trials)


def test_the_sparse_estimate_equals_the_pure_python_one_on_real_copy():
    import random

    from tests.copy_corpus import EDGE_TEXTS, copy_texts

    rng = random.Random(4)
    tested = [TestedCopy(t, rng.randrange(0, 300), rng.choice((0, 500, 2_000, 10_000))) for t in copy_texts(400)]
    model = EvidenceModel(tested, EvidenceSettings(neighbours=20, sharpness=4.0, prior_trials=2000.0))
    candidates = copy_texts(32, seed=9) + EDGE_TEXTS
    assert model.predict_many(candidates) == [_reference_predict(model, c) for c in candidates]  # exactly
    assert model.predict(candidates[0]) == _reference_predict(model, candidates[0])
