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
