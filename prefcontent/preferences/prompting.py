"""The prompt of a brief for the base model in use: one function, versioned, used by training and generation.

The ML library owns the formats (`ml.prompts`): the base model's chat template around a system
message with the brand's voice, audience, tone, channel limits and compliance rules in words,
or the plain field lines when its tokenizer has no template. This module only turns rows into
an `ml.prompts.Brief`. `prompt_version()` names the format of the current base model; pairs,
snapshots and jobs record it, so a change of base model that changes the rendering is visible.
"""
from __future__ import annotations

from ml.prompts import Brief, ChannelShape, PromptFormat, format_of_model
from prefcontent.content.channels import channel_form
from prefcontent.core.knobs import base_model_path


def prompt_format() -> PromptFormat:
    """The format of the configured base model (cached per tokenizer file state by ml.prompts)."""
    return format_of_model(base_model_path())


def prompt_version() -> str:
    """The version recorded beside every prompt rendered now."""
    return prompt_format().version


def rules_in_words(brand) -> tuple[str, ...]:
    """The brand's active compliance rules as sentences a model can follow (regexes have no words; left out)."""
    from prefcontent.brands.compliance import (
        BANNED_PHRASE,
        MAX_DISCOUNT,
        MAX_LENGTH,
        REQUIRED_DISCLAIMER,
        compliance_rules_for,
    )

    if getattr(brand, "pk", None) is None:
        return ()
    words = []
    for compiled in compliance_rules_for(brand).rules:
        spec = compiled.spec
        where = f" (in {spec.channel.replace('_', ' ')} copy)" if spec.channel else ""
        if spec.kind == BANNED_PHRASE:
            words.append(f'Never write "{spec.pattern}"{where}.')
        elif spec.kind == REQUIRED_DISCLAIMER:
            words.append(f'Always include "{spec.pattern}"{where}.')
        elif spec.kind == MAX_DISCOUNT and spec.limit is not None:
            words.append(f"Never offer more than {spec.limit:g}% off{where}.")
        elif spec.kind == MAX_LENGTH and spec.limit is not None:
            words.append(f"Stay within {spec.limit:g} characters{where}.")
    return tuple(words)


def channel_shape(channel: str) -> ChannelShape:
    """The channel's form (prefcontent.content.channels) as the prompt states it."""
    form = channel_form(channel)
    return ChannelShape(one_line=form.one_line, max_chars=form.max_chars, words=form.words)


def render_prompt(*, brand, brief, channel: str) -> str:
    """The prompt for copy answering `brief` (may be None) for `brand` on `channel`."""
    fmt = prompt_format()
    return fmt.render(Brief(
        brand=brand.name or "",
        voice=brand.voice or "",
        channel=channel,
        product=getattr(brief, "product", "") or "",
        audience=getattr(brief, "audience", "") or "",
        tone=getattr(brief, "tone", "") or "",
        shape=channel_shape(channel),
        # The plain format has no room for rules; skip the query.
        rules=rules_in_words(brand) if fmt.chat_template else (),
    ))
