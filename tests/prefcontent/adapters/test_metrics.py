import pytest

from prefcontent.adapters import metrics
from prefcontent.core.text import distinct_n


def test_distinct_2_counts_unique_bigrams_over_all_texts():
    assert distinct_n(["a b c", "a b d"], 2) == pytest.approx(3 / 4)
    assert distinct_n(["same words here"] * 4, 2) == pytest.approx(2 / 8)
    assert distinct_n(["one", ""], 2) == 0.0


def test_word_overlap_rate_flags_both_members_of_a_close_pair():
    texts = ["big sale on shoes today", "Big sale on shoes today", "a totally different headline"]
    assert metrics.word_overlap_rate(texts, 0.8) == pytest.approx(2 / 3)
    assert metrics.word_overlap_rate(["x y", "z w"], 0.8) == 0.0
    assert metrics.word_overlap_rate(["only one"], 0.8) == 0.0


def test_binomial_tail_matches_exact_values():
    assert metrics.binomial_p_at_least(8, 8) == pytest.approx(1 / 256)
    assert metrics.binomial_p_at_least(5, 5) == pytest.approx(1 / 32)
    assert metrics.binomial_p_at_least(0, 10) == pytest.approx(1.0)
    assert metrics.binomial_p_at_least(6, 10) == pytest.approx(386 / 1024)
    assert metrics.binomial_p_at_least(3, 0) == 1.0


@pytest.mark.parametrize("n", [1_000, 1_030, 1_100, 10_500, 100_000])
def test_binomial_tails_match_scipy_on_large_holdouts(n):
    """The sum-of-terms tail overflowed a float from about 1,050 trials; a large holdout must still be judged."""
    from scipy.stats import binom

    for share in (0.45, 0.5, 0.52, 0.6, 1.0):
        k = round(share * n)
        assert metrics.binomial_p_at_least(k, n) == pytest.approx(float(binom.sf(k - 1, n, 0.5)), rel=1e-9, abs=1e-300)
        assert metrics.binomial_p_at_most(k, n, 0.7) == pytest.approx(float(binom.cdf(k, n, 0.7)), rel=1e-9, abs=1e-300)
    assert metrics.binomial_p_at_least(round(0.52 * n), n) < metrics.binomial_p_at_least(round(0.5 * n), n)


def test_changed_fraction_and_length():
    assert metrics.changed_fraction(["a", "b", "c", "d"], ["a", "x", "c", "y"]) == 0.5
    assert metrics.mean_words(["one two", "three four five six"]) == 3.0
    with pytest.raises(ValueError):
        metrics.changed_fraction(["a"], ["a", "b"])
