"""Tiny random-initialised Llama models and byte-level BPE tokenizers for tests.

Builds in about a second on a CPU, so every test can make its own model instead of
downloading one.
"""
from __future__ import annotations

import argparse
from pathlib import Path

SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<unk>"]

_SEED_TEXT = [
    "Save 20% on running shoes today only",
    "New arrivals: summer dresses for every occasion",
    "Ready for a better morning? Try our cold brew",
    "Last chance: free shipping ends tonight",
    "Meet the lightest headphones we have ever made",
    "Your weekend deserves a new backpack",
    "Limited time: 2 for 1 on all candles",
    "Why pay more? Smart watches from $99",
    "Brand voice: friendly, concise, no hype. Product: shoes. Audience: runners.",
    "Write a headline for an email subject line about a spring sale.",
]


def build_tokenizer(out_dir: str | Path, *, vocab_size: int = 320, texts: list[str] | None = None):
    """Train a byte-level BPE tokenizer and save it as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator((texts or _SEED_TEXT) * 4, trainer=trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    fast.save_pretrained(str(out_dir))
    return fast


def build_tiny_model(
    out_dir: str | Path,
    *,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 4,
    intermediate_size: int = 64,
    vocab_size: int = 320,
    max_position_embeddings: int = 512,
    seed: int = 0,
) -> Path:
    """Save a random-initialised LlamaForCausalLM plus tokenizer under `out_dir`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(out, vocab_size=vocab_size)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(str(out))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="Build a tiny random Llama model for tests.")
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(build_tiny_model(args.out_dir, seed=args.seed))


if __name__ == "__main__":
    main()
