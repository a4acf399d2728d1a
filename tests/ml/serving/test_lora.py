from __future__ import annotations

import torch

from ml.serving.lora import BASE, PeftLora, SegmentedLora, runs
from tests.ml.serving.reference import load_plain


def test_runs_split_consecutive_names_and_skip_the_base():
    names = ["a", "a", BASE, "b", "b", "b", "a", BASE]
    assert runs(names) == [(0, 2, "a"), (3, 6, "b"), (6, 7, "a")]
    assert runs([]) == [] and runs([BASE, BASE]) == []


def test_segmented_rows_match_peft_with_each_rows_own_adapter(tiny_model, adapters):
    """Row i of a mixed batch equals the peft model with row i's adapter active (or disabled)."""
    names = ["brand-0", "brand-0", BASE, "brand-1", "brand-0"]
    segmented = SegmentedLora(load_plain(tiny_model, None)[1])
    peft = PeftLora(load_plain(tiny_model, None)[1])
    for brand in ("brand-0", "brand-1"):
        segmented.add(brand, adapters[brand])
        peft.add(brand, adapters[brand])
    torch.manual_seed(0)
    input_ids = torch.randint(5, 200, (len(names), 7))
    with torch.inference_mode():
        ours = segmented.forward(names, input_ids=input_ids).logits
        theirs = peft.forward(names, input_ids=input_ids).logits
        base_only = segmented.forward([BASE] * len(names), input_ids=input_ids).logits
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert torch.allclose(ours[2], base_only[2], atol=1e-6)
    assert not torch.allclose(ours[0], base_only[0], atol=1e-3)


def test_removed_adapter_leaves_the_others_intact(tiny_model, adapters):
    lora = SegmentedLora(load_plain(tiny_model, None)[1])
    lora.add("x", adapters["brand-2"])
    input_ids = torch.randint(5, 200, (1, 5))
    with torch.inference_mode():
        before = lora.forward(["x"], input_ids=input_ids).logits
        lora.add("y", adapters["brand-3"])
        lora.remove("y")
        after = lora.forward(["x"], input_ids=input_ids).logits
    assert torch.equal(before, after)
