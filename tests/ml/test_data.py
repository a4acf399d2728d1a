from ml.config import PreferenceExample
from ml.data import (
    encode_completion,
    encode_prompt,
    epoch_batches,
    tokenize_pairs,
)


def test_pair_shares_prompt_ids_with_one_bos_and_one_eos(tokenizer):
    ex = PreferenceExample("<s>Brand: Acme\nWrite:", "Save 20% today</s>", "Meet our shoes")
    (pair,) = tokenize_pairs(tokenizer, [ex], max_prompt_tokens=64, max_completion_tokens=32)
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    assert pair.prompt_ids[0] == bos and bos not in pair.prompt_ids[1:]
    for comp in (pair.chosen_ids, pair.rejected_ids):
        assert comp[-1] == eos and eos not in comp[:-1] and bos not in comp
    assert tokenizer.decode(pair.prompt_ids[1:]) == "Brand: Acme\nWrite:"
    assert tokenizer.decode(pair.chosen_ids[:-1]) == "Save 20% today"


def test_long_prompt_keeps_bos_and_its_end(tokenizer):
    prompt = "Brand: Acme\n" + "Voice: friendly and warm. " * 20 + "Write:"
    ids = encode_prompt(tokenizer, prompt, 12)
    assert len(ids) == 12 and ids[0] == tokenizer.bos_token_id
    assert tokenizer.decode(ids[1:]).endswith("Write:")


def test_long_completion_keeps_its_start_and_no_eos(tokenizer):
    text = "Save 20% on shoes today only " * 5
    ids = encode_completion(tokenizer, text, 6)
    assert len(ids) == 6 and tokenizer.eos_token_id not in ids
    assert ids == tokenizer(text, add_special_tokens=False)["input_ids"][:6]
    short = encode_completion(tokenizer, "Save", 6)
    assert short[-1] == tokenizer.eos_token_id


def test_epoch_order_is_a_function_of_seed_and_epoch(tokenizer):
    examples = [PreferenceExample(f"P{i}:" + "x" * (i % 7), "a" * (i % 5 + 1), "b") for i in range(50)]
    pairs = tokenize_pairs(tokenizer, examples, max_prompt_tokens=64, max_completion_tokens=16)

    def order(seed, epoch):
        return [[p.index for p in b] for b in epoch_batches(pairs, batch_size=4, seed=seed, epoch=epoch, bucket_size=2)]

    assert order(0, 0) == order(0, 0)
    assert order(0, 0) != order(0, 1)
    assert sorted(i for b in order(0, 1) for i in b) == list(range(50))
    assert all(len(b) <= 4 for b in order(0, 0))
