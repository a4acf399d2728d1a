"""The two normal forms of copy and the similarity measures built on them."""
from prefcontent.content.hashing import content_hash
from prefcontent.core.text import (
    NEAR_DUPLICATE_SIMILARITY,
    canonical_text,
    folded_text,
    is_near_duplicate,
    trigram_similarity,
    word_jaccard,
)


def test_canonical_form_keeps_case_and_folded_form_does_not():
    assert canonical_text("  Save\u00a0 NOW ") == "Save NOW"
    assert folded_text("  Save\u00a0 NOW \u2014 \u201cfree\u201d ") == 'save now - "free"'
    assert content_hash("Save  now") == content_hash("Save now") != content_hash("save now")


def test_near_duplicate_is_trigram_similarity_at_the_shared_threshold():
    score = trigram_similarity("Shop the sale now!", "shop the sale now")
    assert is_near_duplicate("Shop the sale now!", "shop the sale now") == (score >= NEAR_DUPLICATE_SIMILARITY, score)


def test_word_overlap_is_order_blind_unlike_trigrams():
    assert word_jaccard("big sale today", "today sale big") == 1.0
    assert trigram_similarity("big sale today", "today sale big") < NEAR_DUPLICATE_SIMILARITY
    assert word_jaccard("", "") == 1.0 and word_jaccard("a", "") == 0.0


def test_the_trigram_matrix_gives_the_pure_python_similarities_to_the_last_bit():
    from prefcontent.core.text import TrigramMatrix
    from tests.copy_corpus import EDGE_TEXTS, copy_texts

    corpus = copy_texts(300) + EDGE_TEXTS
    queries = copy_texts(40, seed=1) + EDGE_TEXTS + ["a query trigram nobody wrote: zqxj"]
    got = TrigramMatrix(corpus).similarities(queries)
    assert got.shape == (len(queries), len(corpus))
    expected = [[trigram_similarity(q, t) for t in corpus] for q in queries]
    assert got.tolist() == expected  # equal floats, not approximately equal
    assert TrigramMatrix([]).similarities(["x"]).shape == (1, 0)


def test_the_matrix_cache_rebuilds_only_changed_texts_and_keeps_its_bound():
    from prefcontent.core.text import TrigramMatrixCache

    cache = TrigramMatrixCache(max_entries=2)
    first = cache.get("brand-1", ["Save 20% today.", "Shop now."])
    assert cache.get("brand-1", ["Save 20% today.", "Shop now."]) is first and cache.hits == 1
    changed = cache.get("brand-1", ["Save 30% today.", "Shop now."])
    assert changed is not first and changed.texts[0] == "Save 30% today."
    cache.get("brand-2", ["a"])
    cache.get("brand-3", ["b"])  # brand-1, the least recently used, leaves
    assert cache.get("brand-1", ["Save 30% today.", "Shop now."]) is not changed and cache.builds == 5
    cache.forget(lambda key: key == "brand-1")
    assert cache.keys() == ["brand-3"]
