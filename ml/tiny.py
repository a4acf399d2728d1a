"""Tiny random-initialised causal LMs of several architectures, with byte-level BPE tokenizers, for tests.

Builds in about a second on a CPU, so every test can make its own model instead of
downloading one.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

_TURNS = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
CHATML = _TURNS + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
# Qwen3's habit: an empty thinking block when thinking is switched off.
QWEN3 = (_TURNS + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
         "{% if enable_thinking is defined and enable_thinking is false %}{{ '<think>\\n\\n</think>\\n\\n' }}{% endif %}"
         "{% endif %}")
# Gemma's habits: BOS written by the template, no system role, the assistant is "model".
GEMMA = ("{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
         "{% endif %}{% for message in messages %}{% set role = 'model' if message['role'] == 'assistant' "
         "else message['role'] %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
         "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}")
PHI3 = ("{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}")


@dataclass(frozen=True)
class TokenizerStyle:
    """Special tokens and chat template of a tokenizer family, as its models ship them."""

    bos: str | None
    eos: str
    pad: str | None
    unk: str | None
    extra: tuple[str, ...] = ()  # further special tokens (chat markers)
    chat_template: str | None = None


TOKENIZER_STYLES = {
    "llama": TokenizerStyle("<s>", "</s>", "<pad>", "<unk>"),
    # GPT-2 / GPT-NeoX: one token is BOS, EOS and UNK; no pad.
    "gpt2": TokenizerStyle("<|endoftext|>", "<|endoftext|>", None, "<|endoftext|>"),
    # Qwen2/2.5: no BOS at all, ChatML.
    "qwen": TokenizerStyle(None, "<|im_end|>", "<|endoftext|>", None, ("<|im_start|>",), CHATML),
    "qwen3": TokenizerStyle(None, "<|im_end|>", "<|endoftext|>", None, ("<|im_start|>", "<think>", "</think>"), QWEN3),
    "gemma": TokenizerStyle("<bos>", "<eos>", "<pad>", "<unk>", ("<start_of_turn>", "<end_of_turn>"), GEMMA),
    "phi3": TokenizerStyle("<s>", "<|endoftext|>", "<|endoftext|>", "<unk>",
                           ("<|system|>", "<|user|>", "<|assistant|>", "<|end|>"), PHI3),
}
# Architecture family -> (tokenizer style, transformers config class name).
FAMILIES = {
    "llama": ("llama", "LlamaConfig"),
    "mistral": ("llama", "MistralConfig"),
    "qwen2": ("qwen", "Qwen2Config"),
    "qwen3": ("qwen3", "Qwen3Config"),
    "gemma": ("gemma", "GemmaConfig"),
    "phi3": ("phi3", "Phi3Config"),
    "gpt_neox": ("gpt2", "GPTNeoXConfig"),
    "gpt2": ("gpt2", "GPT2Config"),
}

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


def build_tokenizer(out_dir: str | Path, *, vocab_size: int = 320, texts: list[str] | None = None,
                    style: str = "llama"):
    """Train a byte-level BPE tokenizer with the special tokens of `style` and save it as a fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    spec = TOKENIZER_STYLES[style]
    specials = list(dict.fromkeys(t for t in (spec.pad, spec.bos, spec.eos, spec.unk, *spec.extra) if t))
    tok = Tokenizer(models.BPE(unk_token=spec.unk))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator((texts or _SEED_TEXT) * 4, trainer=trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=spec.bos,
        eos_token=spec.eos,
        pad_token=spec.pad,
        unk_token=spec.unk,
        additional_special_tokens=list(spec.extra),
    )
    if spec.chat_template:
        fast.chat_template = spec.chat_template
    fast.save_pretrained(str(out_dir))
    return fast


def build_tiny_model(
    out_dir: str | Path,
    *,
    family: str = "llama",
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 4,
    intermediate_size: int = 64,
    vocab_size: int = 320,
    max_position_embeddings: int = 512,
    seed: int = 0,
) -> Path:
    """Save a random-initialised causal LM of `family` (a key of FAMILIES) plus its tokenizer under `out_dir`."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    style, config_name = FAMILIES[family]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(out, vocab_size=vocab_size, style=style)
    torch.manual_seed(seed)
    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
           "pad_token_id": tokenizer.pad_token_id}
    sizes = {"vocab_size": len(tokenizer), "hidden_size": hidden_size, "intermediate_size": intermediate_size,
             "num_hidden_layers": num_layers, "num_attention_heads": num_heads,
             "max_position_embeddings": max_position_embeddings, "tie_word_embeddings": False}
    if family == "gpt2":
        sizes = {"vocab_size": len(tokenizer), "n_embd": hidden_size, "n_layer": num_layers, "n_head": num_heads,
                 "n_inner": intermediate_size, "n_positions": max_position_embeddings}
    elif family != "gpt_neox":
        sizes |= {"num_key_value_heads": num_heads, "head_dim": hidden_size // num_heads}
    config = getattr(transformers, config_name)(**sizes, **ids)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(str(out))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="Build a tiny random causal LM for tests.")
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--family", default="llama", choices=sorted(FAMILIES))
    args = parser.parse_args()
    print(build_tiny_model(args.out_dir, family=args.family, seed=args.seed))


if __name__ == "__main__":
    main()
