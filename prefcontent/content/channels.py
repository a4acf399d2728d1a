"""What each channel asks of its copy, in one table the whole product reads.

The prompt states the limit in words (prefcontent.preferences.prompting), the engine stops
where a one-line channel's line ends and cuts at `max_chars` (generation and the gate), and
the well-formedness check accepts at most the same (prefcontent.content.wellformed): copy is
served within the limit it was asked for, and judged by it.
"""
from __future__ import annotations

from dataclasses import dataclass

from prefcontent.content.models import CHANNELS


@dataclass(frozen=True)
class ChannelForm:
    """The shape of copy a channel takes."""

    one_line: bool  # the copy is a single line (a headline, a subject line, a notification)
    max_chars: int  # the longest copy the channel serves, in characters
    words: str  # how a prompt names the channel ("a headline")


CHANNEL_FORMS: dict[str, ChannelForm] = {
    "headline": ChannelForm(one_line=True, max_chars=100, words="a headline"),
    "email_subject": ChannelForm(one_line=True, max_chars=100, words="an email subject line"),
    "push": ChannelForm(one_line=True, max_chars=120, words="a push notification"),
    "ad_copy": ChannelForm(one_line=False, max_chars=500, words="ad copy"),
    "landing": ChannelForm(one_line=False, max_chars=1200, words="landing page copy"),
}
assert set(CHANNEL_FORMS) == set(CHANNELS), "every channel a brief may name has a form"
# A pair or prompt whose channel nobody recorded: the loosest shape the product serves.
UNKNOWN_CHANNEL = ChannelForm(one_line=False, max_chars=1200, words="marketing copy")


def channel_form(channel: str) -> ChannelForm:
    return CHANNEL_FORMS.get(channel, UNKNOWN_CHANNEL)
