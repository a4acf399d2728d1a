"""Plain request/result dataclasses of the serving engine and the hard sampling caps."""
from __future__ import annotations

import math
from dataclasses import dataclass, field


class InvalidRequestError(ValueError):
    """A generate or score request is malformed (bad field value or missing adapter path)."""


class CapExceededError(InvalidRequestError):
    """A request asks for more than the engine's hard caps allow."""


@dataclass(frozen=True, kw_only=True)
class GenerateRequest:
    """One prompt to complete, with the brand adapter and sampling parameters to use."""

    adapter_id: str | None = None  # brand adapter key; None generates with the base model
    adapter_path: str | None = None  # peft LoRA directory; required when adapter_id is set
    adapter_sha256: str | None = None  # expected dir_checksum of adapter_path; checked on load
    prompt: str  # raw prompt text; the engine feeds [BOS] + its token ids
    n: int = 1  # number of completions to sample for this prompt
    temperature: float = 1.0  # softmax temperature; 0 means greedy decoding
    top_p: float = 1.0  # nucleus sampling mass in (0, 1]
    top_k: int = 0  # sample among the k most likely tokens only (0: no cut)
    max_new_tokens: int = 64  # completion budget per sequence (a stop token ends it earlier)
    one_line: bool = False  # the copy ends at its first newline (headlines, subjects, push, SMS)
    max_chars: int | None = None  # the channel's character limit: generation stops past it and the text is cut to it
    length_budget: bool = True  # near max_chars the end tokens are favoured (ml.serving.stops.end_bias)
    seed: int | None = None  # same seed + same request = same output; None draws one


@dataclass(frozen=True, kw_only=True)
class GenerateResult:
    """Completions for one GenerateRequest, in sequence order 0..n-1."""

    texts: list[str]  # decoded completions (prompt excluded), whitespace-stripped, within one_line / max_chars
    token_counts: list[int]  # completion tokens per sequence, the stop token not counted
    logprobs: list[float]  # summed log-probs (temperature 1, no top-p) of each completion, stop token included
    finish_reasons: list[str]  # per sequence: "stop" / "newline" (ended by itself), "length" / "max_chars" (cut)
    adapter_id: str | None  # adapter that produced them; None for the base model
    engine: str = "inprocess"  # serving backend that produced the result
    model_id: str  # base model identifier (its path or name)
    seed: int  # seed actually used (drawn when the request had none)
    elapsed_ms: float  # from submit to result


@dataclass(frozen=True, kw_only=True)
class ScoreRequest:
    """Candidate completions of one prompt to rank by an adapter's implicit DPO reward."""

    adapter_id: str  # brand adapter key (the policy); the reference is the base model
    adapter_path: str | None = None  # peft LoRA directory; required
    adapter_sha256: str | None = None  # expected dir_checksum of adapter_path
    prompt: str  # raw prompt text, tokenized like GenerateRequest.prompt
    candidates: list[str]  # completion texts to score (e.g. the n texts of a GenerateResult)
    beta: float = 0.1  # DPO beta the reward is scaled by
    append_eos: bool = True  # score the completion followed by EOS, as DPO training does


@dataclass(frozen=True, kw_only=True)
class ScoreResult:
    """Implicit rewards for each candidate, in input order, plus the ranking."""

    scores: list[float]  # beta * (logp_adapter - logp_reference) per candidate
    ranking: list[int]  # candidate indices, best score first
    logp_adapter: list[float]  # summed completion log-probs under the adapter
    logp_reference: list[float]  # summed completion log-probs under the base model
    adapter_id: str  # adapter that was scored
    model_id: str  # base model identifier
    elapsed_ms: float  # from submit to result


@dataclass(frozen=True)
class SamplingCaps:
    """Hard limits every request must respect; requests beyond them are rejected, not clipped."""

    max_n: int = 8  # most completions per request
    max_new_tokens: int = 256  # largest completion budget
    min_temperature: float = 0.0  # lowest temperature (0 = greedy)
    max_temperature: float = 2.0  # highest temperature
    max_prompt_tokens: int = 1024  # longest prompt, in tokens including BOS
    max_candidates: int = 32  # most candidates per score request
    max_candidate_tokens: int = 512  # longest candidate completion, in tokens

    def validate(self, request: GenerateRequest | ScoreRequest) -> None:
        """Raise InvalidRequestError / CapExceededError with a clear message if `request` is out of bounds."""
        if not isinstance(request.prompt, str):
            raise InvalidRequestError("prompt must be a string")
        _check_adapter_fields(request)
        if isinstance(request, ScoreRequest):
            self._validate_score(request)
        else:
            self._validate_generate(request)

    def _validate_generate(self, request: GenerateRequest) -> None:
        if not isinstance(request.n, int) or request.n < 1:
            raise InvalidRequestError(f"n must be a positive integer, got {request.n!r}")
        if request.n > self.max_n:
            raise CapExceededError(f"n={request.n} exceeds the cap of {self.max_n}")
        if not isinstance(request.max_new_tokens, int) or request.max_new_tokens < 1:
            raise InvalidRequestError(f"max_new_tokens must be a positive integer, got {request.max_new_tokens!r}")
        if request.max_new_tokens > self.max_new_tokens:
            raise CapExceededError(
                f"max_new_tokens={request.max_new_tokens} exceeds the cap of {self.max_new_tokens}"
            )
        if not _finite(request.temperature):
            raise InvalidRequestError(f"temperature must be a finite number, got {request.temperature!r}")
        if not self.min_temperature <= request.temperature <= self.max_temperature:
            raise CapExceededError(
                f"temperature={request.temperature} is outside the allowed range "
                f"[{self.min_temperature}, {self.max_temperature}]"
            )
        if not _finite(request.top_p) or not 0.0 < request.top_p <= 1.0:
            raise InvalidRequestError(f"top_p must be in (0, 1], got {request.top_p!r}")
        if not isinstance(request.top_k, int) or isinstance(request.top_k, bool) or request.top_k < 0:
            raise InvalidRequestError(f"top_k must be a non-negative integer, got {request.top_k!r}")
        if not isinstance(request.one_line, bool):
            raise InvalidRequestError(f"one_line must be true or false, got {request.one_line!r}")
        if request.max_chars is not None and (not isinstance(request.max_chars, int) or request.max_chars < 1):
            raise InvalidRequestError(f"max_chars must be a positive integer or None, got {request.max_chars!r}")
        if not isinstance(request.length_budget, bool):
            raise InvalidRequestError(f"length_budget must be true or false, got {request.length_budget!r}")
        if request.seed is not None and (not isinstance(request.seed, int) or request.seed < 0):
            raise InvalidRequestError(f"seed must be a non-negative integer or None, got {request.seed!r}")

    def _validate_score(self, request: ScoreRequest) -> None:
        if not request.adapter_id:
            raise InvalidRequestError("scoring needs an adapter_id: the base model's reward against itself is 0")
        if not request.candidates:
            raise InvalidRequestError("score request has no candidates")
        if len(request.candidates) > self.max_candidates:
            raise CapExceededError(
                f"{len(request.candidates)} candidates exceed the cap of {self.max_candidates}"
            )
        if not all(isinstance(c, str) for c in request.candidates):
            raise InvalidRequestError("every candidate must be a string")
        if not _finite(request.beta) or request.beta <= 0:
            raise InvalidRequestError(f"beta must be a positive number, got {request.beta!r}")


@dataclass
class EngineStats:
    """Counters the engine keeps for monitoring and benchmarks."""

    adapter_loads: int = 0  # cache misses that loaded an adapter from disk
    adapter_evictions: int = 0  # adapters deleted to respect the count or memory bound
    adapter_load_ms: list[float] = field(default_factory=list)  # wall time of each load (checksum included)
    decode_steps: int = 0  # batched forward passes that produced one token per active row
    max_active_rows: int = 0  # largest number of sequences decoded in one step
    decoded_rows: int = 0  # sequences decoded, summed over steps: decoded_rows / decode_steps = mean batch

    @property
    def mean_batch_rows(self) -> float:
        """Mean sequences per decode step (0.0 before the first step)."""
        return self.decoded_rows / self.decode_steps if self.decode_steps else 0.0


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_adapter_fields(request: GenerateRequest | ScoreRequest) -> None:
    if request.adapter_id is None:
        if request.adapter_path is not None or request.adapter_sha256 is not None:
            raise InvalidRequestError("adapter_path/adapter_sha256 given without an adapter_id")
        return
    if not isinstance(request.adapter_id, str) or not request.adapter_id:
        raise InvalidRequestError(f"adapter_id must be a non-empty string or None, got {request.adapter_id!r}")
    if not request.adapter_path:
        raise InvalidRequestError(f"adapter {request.adapter_id!r} has no adapter_path to load it from")
    if request.adapter_sha256 is not None and (
        len(request.adapter_sha256) != 64 or any(c not in "0123456789abcdefABCDEF" for c in request.adapter_sha256)
    ):
        raise InvalidRequestError(f"adapter_sha256 must be 64 hex digits, got {request.adapter_sha256!r}")
