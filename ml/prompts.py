"""How a brief becomes a prompt for a base model, one format per model family, versioned.

- plain ("brief-v1"), for tokenizers without a chat template: the field lines the dev model
  is trained on, ending in "Write:"; the completion follows directly.
- chat ("chat-v2-<hash of the template>"), for tokenizers with one: the model's own chat
  template around a system message (the brand's voice, audience, tone, the channel's
  constraints and the brand's rules, in words) and a user message (the brief and channel),
  then the assistant header. The template's hash is in the version, so a change of base
  model that changes the rendering shows on every pair, snapshot and variant.

Training and serving tokenise the rendered text the same way (`ml.data`): a plain prompt gets
the tokenizer's BOS in front, a chat prompt carries whatever special tokens its template wrote.
Rendering reads the template from the model directory and uses transformers' jinja renderer,
which imports no torch, so the web process can render prompts cheaply.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

PLAIN_VERSION = "brief-v1"
CHAT_VERSION = "chat-v2"  # v2: the channel limits come from the product's table
_SENTINEL = "XYZZY-END-OF-COPY"
_TEXT_FIELDS = ("brand", "voice", "channel", "product", "audience", "tone")


@dataclass(frozen=True)
class ChannelShape:
    """What a channel asks of its copy, as the caller's product defines it: stated in the prompt."""

    one_line: bool  # the copy is one line
    max_chars: int  # the longest text served
    words: str  # how the system message names the channel


# For a caller that names no shape (the dev grammar's fields, benchmarks): one line, briefly.
GENERIC_SHAPE = ChannelShape(True, 100, "marketing copy")


@dataclass(frozen=True)
class Brief:
    """The facts a prompt states; every field is one line of plain text (see `clean`)."""

    brand: str
    voice: str = ""
    channel: str = "headline"
    product: str = ""
    audience: str = ""
    tone: str = ""
    rules: tuple[str, ...] = field(default=())  # the brand's compliance rules in words ("Never say ...")
    shape: ChannelShape = GENERIC_SHAPE  # the channel's limits, stated in the chat format's system message


def clean(value: str | None) -> str:
    """One line: a multi-line brand voice must not add or fake prompt lines."""
    return " ".join((value or "").split())


def render_plain(brief: Brief) -> str:
    """The plain format; completions follow "Write:" directly."""
    return (f"Brand: {clean(brief.brand)}\nVoice: {clean(brief.voice)}\nChannel: {clean(brief.channel)}\n"
            f"Product: {clean(brief.product)}\nAudience: {clean(brief.audience)}\nTone: {clean(brief.tone)}\nWrite:")


def system_message(brief: Brief) -> str:
    """Who writes, for whom, in what voice, within which limits."""
    shape = brief.shape
    lines = [f"You write marketing copy for the brand {clean(brief.brand)}."]
    if clean(brief.voice):
        lines.append(f"Brand voice: {clean(brief.voice)}.")
    if clean(brief.audience):
        lines.append(f"Audience: {clean(brief.audience)}.")
    if clean(brief.tone):
        lines.append(f"Tone: {clean(brief.tone)}.")
    length = f"at most {shape.max_chars} characters"
    lines.append(f"Write {shape.words}: {'one line, ' if shape.one_line else ''}{length}. "
                 "Reply with the copy only: no quotes, no labels, no explanation.")
    lines.extend(f"Rule: {clean(rule)}" for rule in brief.rules if clean(rule))
    return "\n".join(lines)


def user_message(brief: Brief) -> str:
    """The brief and the channel."""
    shape = brief.shape
    product = clean(brief.product) or "the brand's products"
    return f"Write {shape.words} for {product}."


@dataclass(frozen=True)
class PromptFormat:
    """The rendering of one base model: plain when `chat_template` is None."""

    version: str  # recorded on pairs, snapshots and variants
    chat_template: str | None = None
    template_vars: tuple[tuple[str, str], ...] = ()  # special token strings the template may use (bos_token, ...)
    markers: tuple[str, ...] = ()  # every special token string: removed from brief fields so none can fake a turn

    def render(self, brief: Brief) -> str:
        """The full prompt text; a chat prompt ends with the assistant header."""
        if self.chat_template is None:
            return render_plain(brief)
        markers = sorted({*self.markers, *(value for _, value in self.template_vars if value)}, key=len, reverse=True)
        safe = replace(brief, rules=tuple(_unmark(r, markers) for r in brief.rules),
                       **{k: _unmark(getattr(brief, k), markers) for k in _TEXT_FIELDS})
        return self.render_messages([{"role": "system", "content": system_message(safe)},
                                     {"role": "user", "content": user_message(safe)}], add_generation_prompt=True)

    def render_messages(self, messages: list[dict], *, add_generation_prompt: bool) -> str:
        """`messages` through the template; a template that refuses a system turn gets it folded into the user's."""
        from jinja2.exceptions import TemplateError
        from transformers.utils.chat_template_utils import render_jinja_template

        def render(msgs: list[dict]) -> str:
            (text,), _ = render_jinja_template([msgs], chat_template=self.chat_template,
                                               add_generation_prompt=add_generation_prompt, enable_thinking=False,
                                               **dict(self.template_vars))
            return text

        try:
            return render(messages)
        except TemplateError:
            if not messages or messages[0]["role"] != "system":
                raise
            system, first, *rest = messages
            return render([{"role": first["role"], "content": system["content"] + "\n\n" + first["content"]}, *rest])


def _unmark(value: str, markers: list[str]) -> str:
    """`value` without the template's special-token strings, so a brief cannot fake a turn."""
    for marker in markers:
        value = value.replace(marker, "")
    return value


def _template_version(template: str) -> str:
    return f"{CHAT_VERSION}-{hashlib.sha256(template.encode()).hexdigest()[:12]}"


def _pick_template(raw) -> str | None:
    if isinstance(raw, list):  # named templates: the default one is for chat
        named = {t.get("name"): t.get("template") for t in raw if isinstance(t, dict)}
        return named.get("default")
    return raw or None


def format_for(chat_template: str | None, special_tokens: dict[str, str | None],
               markers: tuple[str, ...] = ()) -> PromptFormat:
    """The format of a tokenizer with this template (None: plain), these named special tokens and all of them."""
    if not chat_template:
        return PromptFormat(version=PLAIN_VERSION)
    names = ("bos_token", "eos_token", "pad_token", "unk_token")
    return PromptFormat(version=_template_version(chat_template), chat_template=chat_template,
                        template_vars=tuple((n, _token_text(special_tokens.get(n)) or "") for n in names),
                        markers=tuple(sorted({m for m in markers if m})))


def _token_text(token) -> str | None:
    if isinstance(token, dict):  # tokenizer_config may spell a token as an AddedToken dict
        return token.get("content")
    return token


def format_of_tokenizer(tokenizer) -> PromptFormat:
    """The format of a loaded transformers tokenizer."""
    added = getattr(tokenizer, "added_tokens_decoder", {}).values()
    markers = (*tokenizer.all_special_tokens, *(str(t) for t in added if getattr(t, "special", False)))
    return format_for(_pick_template(getattr(tokenizer, "chat_template", None)),
                      {n: getattr(tokenizer, n, None) for n in ("bos_token", "eos_token", "pad_token", "unk_token")},
                      markers)


def format_of_model(model_dir: str | Path) -> PromptFormat:
    """The format of the base model in `model_dir`, read from its tokenizer files (cached per file state)."""
    directory = Path(model_dir)
    files = [directory / "tokenizer_config.json", directory / "chat_template.jinja", directory / "tokenizer.json"]
    stamp = tuple((str(f), f.stat().st_mtime_ns) if f.is_file() else (str(f), 0) for f in files)
    return _format_of_files(stamp)


@functools.lru_cache(maxsize=16)
def _format_of_files(stamp: tuple[tuple[str, int], ...]) -> PromptFormat:
    config_file, template_file, tokenizer_file = (Path(name) for name, _ in stamp)
    config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
    template = template_file.read_text(encoding="utf-8") if template_file.is_file() else None
    template = template or _pick_template(config.get("chat_template"))
    markers: list[str] = [t.get("content", "") for t in config.get("added_tokens_decoder", {}).values()
                          if isinstance(t, dict) and t.get("special")]
    if template and tokenizer_file.is_file():  # a large file: read only when a chat prompt needs its markers
        added = json.loads(tokenizer_file.read_text(encoding="utf-8")).get("added_tokens", [])
        markers += [t.get("content", "") for t in added if t.get("special")]
    return format_for(template, config, tuple(markers))


def end_of_turn_id(tokenizer) -> int | None:
    """The special token the chat template closes an assistant turn with (None without a template or one).

    Found by rendering a turn with a sentinel text and reading the first special token after it:
    `<|im_end|>` (ChatML), `<|eot_id|>` (Llama 3), `<end_of_turn>` (Gemma), `<|end|>` (Phi-3), `</s>` (Mistral).
    """
    fmt = format_of_tokenizer(tokenizer)
    if fmt.chat_template is None:
        return None
    try:
        text = fmt.render_messages([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": _SENTINEL}],
                                   add_generation_prompt=False)
    except Exception:  # noqa: BLE001 - a template that cannot render a plain turn has no end-of-turn to offer
        return None
    at = text.find(_SENTINEL)
    if at < 0:
        return None
    special = set(tokenizer.all_special_ids) | {
        i for i, t in getattr(tokenizer, "added_tokens_decoder", {}).items() if getattr(t, "special", False)}
    for token in tokenizer(text[at + len(_SENTINEL):], add_special_tokens=False)["input_ids"]:
        if token in special:
            return int(token)
    return None
