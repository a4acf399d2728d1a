import pytest

from prefcontent.generation.ranking import preference_scores, select_best_diverse

TEXTS = [
    "Save 30% on running shoes today.",  # best score
    "Save 30% on running shoes today!",  # near copy of the best, second score
    "Meet the trail sneakers built for rain.",  # different, third score
    "Ask us about backpacks.",  # different, lowest
]
SCORES = [2.0, 1.9, 1.5, -1.0]


def test_without_diversity_it_is_top_n_by_score():
    assert select_best_diverse(TEXTS, SCORES, 3, diversity=0.0) == [0, 1, 2]


def test_with_diversity_a_near_copy_of_a_pick_gives_way_to_a_different_text():
    assert select_best_diverse(TEXTS, SCORES, 2, diversity=2.0) == [0, 2]
    # ... but it is still served when there is room for it before a much worse text.
    assert select_best_diverse(TEXTS, SCORES, 3, diversity=2.0) == [0, 2, 1]


def test_a_large_gap_in_score_beats_similarity():
    texts = ["Save 30% on running shoes.", "Save 30% on running shoes now.", "Hello."]
    assert select_best_diverse(texts, [5.0, 4.9, -50.0], 2, diversity=1.0) == [0, 1]


def test_equal_scores_keep_the_sampled_order_and_spread_out():
    texts = ["Save 30% on shoes.", "Save 30% on shoes!", "Free shipping on backpacks."]
    assert select_best_diverse(texts, [0.0, 0.0, 0.0], 2, diversity=0.0) == [0, 1]
    assert select_best_diverse(texts, [0.0, 0.0, 0.0], 2, diversity=1.0) == [0, 2]


def test_edges():
    assert select_best_diverse([], [], 3, diversity=1.0) == []
    assert select_best_diverse(TEXTS, SCORES, 0, diversity=1.0) == []
    assert sorted(select_best_diverse(TEXTS, SCORES, 10, diversity=1.0)) == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        select_best_diverse(TEXTS, SCORES[:2], 2, diversity=1.0)


def test_a_candidate_like_a_recent_variant_gives_way_to_a_new_one():
    seen = ["Save 30% on running shoes today."]
    assert select_best_diverse(TEXTS, SCORES, 1, diversity=2.0) == [0]
    assert select_best_diverse(TEXTS, SCORES, 1, diversity=2.0, seen=seen) == [2]
    # without diversity, what was served before does not matter
    assert select_best_diverse(TEXTS, SCORES, 1, diversity=0.0, seen=seen) == [0]


def test_preference_scores_add_the_evidence_to_the_standardised_reward():
    assert preference_scores([1.0, 3.0], [0.0, 0.0], evidence_weight=1.0) == [-1.0, 1.0]
    assert preference_scores([1.0, 3.0], [3.0, 0.0], evidence_weight=1.0) == [2.0, 1.0]
    assert preference_scores([1.0, 3.0], [3.0, 0.0], evidence_weight=0.0) == [-1.0, 1.0]
    assert preference_scores([2.0, 2.0], [0.5, -0.5], evidence_weight=2.0) == [1.0, -1.0]
    with pytest.raises(ValueError):
        preference_scores([1.0], [0.0, 1.0], evidence_weight=1.0)


def _reference_select(texts, scores, n, *, diversity, seen=()):
    """The pure-Python selection the sparse one replaced, kept to check the numbers stay the same."""
    from prefcontent.core.text import trigram_similarity
    from prefcontent.generation.ranking import _standardized

    z = _standardized(scores)
    picked = []
    closest = [max((trigram_similarity(t, s) for s in seen), default=0.0) if diversity else 0.0 for t in texts]
    rest = list(range(len(texts)))
    while rest and len(picked) < n:
        best = max(rest, key=lambda i: (z[i] - diversity * closest[i], -i))
        picked.append(best)
        rest.remove(best)
        for i in rest:
            closest[i] = max(closest[i], trigram_similarity(texts[i], texts[best]))
    return picked


@pytest.mark.parametrize("diversity", [0.0, 1.0, 3.0])
def test_the_sparse_selection_picks_what_the_pure_python_one_picked(diversity):
    import random

    from prefcontent.core.text import TrigramMatrix
    from tests.copy_corpus import copy_texts

    rng = random.Random(3)
    seen = copy_texts(200, seed=5)
    for trial in range(20):
        texts = copy_texts(16, seed=100 + trial)
        scores = [rng.gauss(0, 1) for _ in texts]
        expected = _reference_select(texts, scores, 6, diversity=diversity, seen=seen)
        assert select_best_diverse(texts, scores, 6, diversity=diversity, seen=seen) == expected
        assert select_best_diverse(texts, scores, 6, diversity=diversity, seen=TrigramMatrix(seen)) == expected
