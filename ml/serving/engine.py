"""The in-process serving engine: one base model, cached brand adapters, continuous batching.

Callers on any thread `submit()` requests and get Futures; one engine thread owns the
model. Between decode steps it takes in new requests, prefills them and merges them into
the running batch, so a request never waits for a whole static batch to finish.
"""
from __future__ import annotations

import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from ml.data import Codec
from ml.kernels import configure_attention
from ml.serving.adapters import AdapterCache
from ml.serving.batch import DecodeBatch, EndIds, Sequence
from ml.serving.lora import PeftLora, SegmentedLora
from ml.serving.sampling import make_generator, sequence_seed
from ml.serving.scoring import implicit_rewards
from ml.serving.stops import served_text, token_pieces
from ml.serving.types import (
    CapExceededError,
    EngineStats,
    GenerateRequest,
    GenerateResult,
    SamplingCaps,
    ScoreRequest,
    ScoreResult,
)

_ALL = "__all__"  # batch key of the single shared batch in mixed mode


class EngineClosedError(RuntimeError):
    """The engine was closed before the request finished."""


class RequestCancelledError(RuntimeError):
    """The request was cancelled (Engine.cancel) before it finished; its rows left the batch."""


@dataclass(frozen=True)
class EngineConfig:
    """How the engine batches, caches adapters and bounds requests."""

    max_adapters: int = 16  # most adapters loaded at once
    max_adapter_bytes: int = 1 << 30  # most adapter weight bytes loaded at once
    max_batch_rows: int = 64  # most sequences decoded in one step
    batching: Literal["mixed", "grouped"] = "mixed"  # one mixed-adapter batch, or one batch per adapter
    lora: Literal["segmented", "peft"] = "segmented"  # own hook-based LoRA runs, or peft's adapter_names=
    caps: SamplingCaps = field(default_factory=SamplingCaps)  # hard request limits
    dtype: str = "float32"  # torch dtype name for the base model
    device: str = "cpu"  # torch device of the model

    def __post_init__(self) -> None:
        if self.max_batch_rows < self.caps.max_n:
            raise ValueError(f"max_batch_rows={self.max_batch_rows} cannot hold a request with n={self.caps.max_n}")


@dataclass
class _GenerateJob:
    request: GenerateRequest
    future: Future
    prompt_ids: list[int]
    seed: int
    submitted: float
    adapter: str = ""
    finished: int = 0
    cancelled: bool = False
    sequences: list[Sequence] = field(default_factory=list)


@dataclass
class _ScoreJob:
    request: ScoreRequest
    future: Future
    prompt_ids: list[int]
    candidate_ids: list[list[int]]
    submitted: float


@dataclass
class _EvictJob:
    adapter_id_prefix: str
    future: Future


@dataclass
class _CancelJob:
    future: Future  # the Future submit() returned


class Engine:
    """Serves GenerateRequest and ScoreRequest for one base model; thread-safe."""

    def __init__(self, base_model_path: str | Path, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.model_id = str(base_model_path)
        self.stats = EngineStats()
        self._device = torch.device(self.config.device)
        configure_attention(self._device)
        self._tokenizer = AutoTokenizer.from_pretrained(str(base_model_path))
        model = AutoModelForCausalLM.from_pretrained(str(base_model_path), dtype=getattr(torch, self.config.dtype))
        model.to(self._device).eval()
        self._max_positions = getattr(model.config, "max_position_embeddings", None)
        self._attn_implementation = getattr(model.config, "_attn_implementation", None) or "sdpa"
        self._dtype = next(model.parameters()).dtype
        # The tokenizer as it comes: BOS may be missing or equal EOS, pad may be missing, a chat template
        # may end turns with its own token; generation_config may list more stop ids.
        generation_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        extra = tuple(generation_eos) if isinstance(generation_eos, (list, tuple)) else (generation_eos,)
        self._codec = Codec.of(self._tokenizer, extra_stop_ids=tuple(i for i in extra if i is not None))
        self._pad_id = self._codec.pad_id
        self._pieces = token_pieces(self._tokenizer, model.get_output_embeddings().weight.shape[0])
        self._end_ids = EndIds.of(self._codec.stop_ids, self._pieces)
        backend = SegmentedLora(model) if self.config.lora == "segmented" else PeftLora(model)
        self._adapters = AdapterCache(
            backend, max_adapters=self.config.max_adapters, max_bytes=self.config.max_adapter_bytes, stats=self.stats
        )
        self._tokenizer_lock = threading.Lock()
        self._intake: queue.SimpleQueue[_GenerateJob | _ScoreJob | _EvictJob | _CancelJob | None] = queue.SimpleQueue()
        self._step_observers: list[Callable[[int], None]] = []
        self._pending: deque[_GenerateJob] = deque()
        self._scores: deque[_ScoreJob] = deque()
        self._batches: dict[str, DecodeBatch] = {}
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="serving-engine", daemon=True)
        self._thread.start()

    def submit(self, request: GenerateRequest | ScoreRequest) -> Future:
        """Queue a request; the Future yields a GenerateResult or ScoreResult.

        Invalid requests raise here (InvalidRequestError / CapExceededError); adapter
        problems (AdapterChecksumError, AdapterLoadError) surface from the Future.
        """
        if self._closed.is_set():
            raise EngineClosedError("engine is closed")
        caps = self.config.caps
        caps.validate(request)
        with self._tokenizer_lock:
            prompt_ids = self._codec.prompt(request.prompt)
        if len(prompt_ids) > caps.max_prompt_tokens:
            raise CapExceededError(f"prompt has {len(prompt_ids)} tokens, over the cap of {caps.max_prompt_tokens}")
        future: Future = Future()
        now = time.perf_counter()
        if isinstance(request, ScoreRequest):
            with self._tokenizer_lock:
                candidate_ids = [self._codec.completion(text, end=request.append_eos) for text in request.candidates]
            longest = max(len(ids) for ids in candidate_ids)
            if longest > caps.max_candidate_tokens:
                raise CapExceededError(f"a candidate has {longest} tokens, over the cap of {caps.max_candidate_tokens}")
            self._check_positions(len(prompt_ids) + longest)
            job: _GenerateJob | _ScoreJob = _ScoreJob(request, future, prompt_ids, candidate_ids, now)
        else:
            self._check_positions(len(prompt_ids) + request.max_new_tokens)
            seed = request.seed if request.seed is not None else random.SystemRandom().randrange(2**31)
            job = _GenerateJob(request, future, prompt_ids, seed, now)
        self._intake.put(job)
        return future

    def generate(self, request: GenerateRequest, timeout: float | None = None) -> GenerateResult:
        """Submit and wait for the result."""
        return self.submit(request).result(timeout)

    def score(self, request: ScoreRequest, timeout: float | None = None) -> ScoreResult:
        """Submit and wait for the implicit-reward scores."""
        return self.submit(request).result(timeout)

    def evict_adapters(self, adapter_id_prefix: str) -> Future:
        """Unload the adapters whose id starts with the prefix (an erased brand's); the Future yields how many.

        Runs on the engine thread, between steps, like every cache change; adapters in use by
        running requests are unloaded as soon as those finish."""
        future: Future = Future()
        if self._closed.is_set():
            future.set_result(0)
            return future
        self._intake.put(_EvictJob(adapter_id_prefix, future))
        return future

    def cancel(self, future: Future) -> None:
        """Stop the request behind `future` (from submit): a queued one never starts, a running one's
        rows leave the batch before the next step; its Future then fails with RequestCancelledError.
        A finished request is left as it is."""
        if future.cancel() or future.done() or self._closed.is_set():
            return
        self._intake.put(_CancelJob(future))

    def add_step_observer(self, observer: Callable[[int], None]) -> None:
        """Call `observer(rows)` on the engine thread after every decode step with the rows it decoded
        (what a metric of batch sizes records); an observer must be quick and must not raise."""
        self._step_observers.append(observer)

    @property
    def loaded_adapters(self) -> list[str]:
        """adapter_ids currently in the cache, least recently used first (a snapshot)."""
        return self._adapters.loaded_ids

    def close(self, timeout: float | None = 30.0) -> None:
        """Stop the engine thread; unfinished requests fail with EngineClosedError."""
        if not self._closed.is_set():
            self._closed.set()
            self._intake.put(None)
        self._thread.join(timeout)

    # Everything below runs on the engine thread only.

    def _serve(self) -> None:
        with torch.inference_mode():
            while self._take_intake(block=not (self._pending or self._scores or self._batches)):
                try:
                    self._run_scores()
                    self._admit()
                    self._step()
                except Exception as exc:  # noqa: BLE001 - a failed forward must fail its requests, not kill the engine
                    self._fail_running(exc)
        self._fail_everything(EngineClosedError("engine closed before the request finished"))

    def _take_intake(self, *, block: bool) -> bool:
        """Move submitted jobs to the pending queues; False once close() was called."""
        item = self._intake.get() if block else self._next_nowait()
        while item is not None:
            if isinstance(item, _EvictJob):
                item.future.set_result(self._adapters.evict_matching(item.adapter_id_prefix))
            elif isinstance(item, _CancelJob):
                self._cancel(item.future)
            elif isinstance(item, _ScoreJob):
                self._scores.append(item)
            else:
                self._pending.append(item)
            item = self._next_nowait()
        return not self._closed.is_set()

    def _cancel(self, future: Future) -> None:
        """Fail a request that is still queued; mark a running one's rows done, to be pruned now."""
        for jobs in (self._pending, self._scores):
            for job in list(jobs):
                if job.future is future:
                    jobs.remove(job)
                    if job.future.set_running_or_notify_cancel():
                        job.future.set_exception(RequestCancelledError("request cancelled before it started"))
                    return
        for key in list(self._batches):
            batch = self._batches[key]
            for row in batch.rows:
                job = row.owner
                if isinstance(job, _GenerateJob) and job.future is future:
                    job.cancelled = True
                    row.finish_reason = row.finish_reason or "cancelled"
            self._collect(key)

    def _next_nowait(self) -> _GenerateJob | _ScoreJob | _EvictJob | _CancelJob | None:
        try:
            return self._intake.get_nowait()
        except queue.Empty:
            return None

    def _run_scores(self) -> None:
        waiting: deque[_ScoreJob] = deque()
        while self._scores:
            job = self._scores.popleft()
            if job.future.cancelled():
                continue
            request = job.request
            try:
                adapter = self._adapters.acquire(request.adapter_id, request.adapter_path, request.adapter_sha256)
            except Exception as exc:  # noqa: BLE001 - the error belongs to this request's Future
                if job.future.set_running_or_notify_cancel():
                    job.future.set_exception(exc)
                continue
            if adapter is None:  # every cache slot is pinned by running sequences; retry next step
                waiting.append(job)
                continue
            if not job.future.set_running_or_notify_cancel():
                self._adapters.release(adapter)
                continue
            try:
                rewards, policy, reference = implicit_rewards(
                    self._forward, adapter, job.prompt_ids, job.candidate_ids, beta=request.beta, pad_id=self._pad_id,
                    attn_implementation=self._attn_implementation, dtype=self._dtype,
                )
            except Exception as exc:  # noqa: BLE001 - the error belongs to this request's Future
                job.future.set_exception(exc)
                continue
            finally:
                self._adapters.release(adapter)
            job.future.set_result(
                ScoreResult(
                    scores=rewards,
                    ranking=sorted(range(len(rewards)), key=lambda i: -rewards[i]),
                    logp_adapter=policy,
                    logp_reference=reference,
                    adapter_id=request.adapter_id,
                    model_id=self.model_id,
                    elapsed_ms=(time.perf_counter() - job.submitted) * 1000.0,
                )
            )
        self._scores = waiting

    def _admit(self) -> None:
        """Start pending requests in arrival order while rows and adapter slots allow."""
        active = sum(len(batch.rows) for batch in self._batches.values())
        groups: dict[str, dict[tuple[str, tuple[int, ...]], list[Sequence]]] = {}
        while self._pending:
            job = self._pending[0]
            request = job.request
            if active + request.n > self.config.max_batch_rows:
                break
            if job.future.cancelled():
                self._pending.popleft()
                continue
            try:
                adapter = self._adapters.acquire(request.adapter_id, request.adapter_path, request.adapter_sha256)
            except Exception as exc:  # noqa: BLE001 - the error belongs to this request's Future
                self._pending.popleft()
                if job.future.set_running_or_notify_cancel():
                    job.future.set_exception(exc)
                continue
            if adapter is None:
                # Wait for a slot instead of letting later requests jump the queue forever.
                break
            self._pending.popleft()
            if not job.future.set_running_or_notify_cancel():
                self._adapters.release(adapter)
                continue
            job.adapter = adapter
            job.sequences = [
                Sequence(
                    owner=job,
                    index=i,
                    adapter=adapter,
                    temperature=request.temperature,
                    top_p=request.top_p,
                    top_k=request.top_k,
                    max_new_tokens=request.max_new_tokens,
                    one_line=request.one_line,
                    max_chars=request.max_chars,
                    length_budget=request.length_budget,
                    generator=make_generator(sequence_seed(job.seed, i)),
                )
                for i in range(request.n)
            ]
            key = _ALL if self.config.batching == "mixed" else adapter
            # Requests with the same adapter and prompt share one prefill.
            groups.setdefault(key, {}).setdefault((adapter, tuple(job.prompt_ids)), []).extend(job.sequences)
            active += request.n
        for key, by_prompt in groups.items():
            new = [(list(prompt), sequences) for (_, prompt), sequences in by_prompt.items()]
            batch = self._batches.get(key) or DecodeBatch(
                self._forward, stop_ids=self._codec.stop_ids, pad_id=self._pad_id, pieces=self._pieces,
                end_ids=self._end_ids)
            try:
                batch.admit(new)
            except Exception as exc:  # noqa: BLE001 - the running batch is untouched; only the newcomers fail
                for job in {id(seq.owner): seq.owner for _, sequences in new for seq in sequences}.values():
                    assert isinstance(job, _GenerateJob)
                    self._adapters.release(job.adapter)
                    job.future.set_exception(exc)
                continue
            self._batches[key] = batch
            self._collect(key)

    def _step(self) -> None:
        for key in list(self._batches):
            batch = self._batches[key]
            batch.step()
            rows = len(batch.rows)
            self.stats.decode_steps += 1
            self.stats.decoded_rows += rows
            self.stats.max_active_rows = max(self.stats.max_active_rows, rows)
            for observer in self._step_observers:
                observer(rows)
            self._collect(key)

    def _collect(self, key: str) -> None:
        """Finish the requests whose last sequence just ended; drop the batch once empty."""
        batch = self._batches[key]
        for sequence in batch.prune():
            job = sequence.owner
            assert isinstance(job, _GenerateJob)
            job.finished += 1
            if job.finished == len(job.sequences):
                if job.cancelled:
                    self._adapters.release(job.adapter)
                    job.future.set_exception(RequestCancelledError("request cancelled while it decoded"))
                else:
                    self._finish(job)
        if not batch.rows:
            del self._batches[key]

    def _finish(self, job: _GenerateJob) -> None:
        self._adapters.release(job.adapter)
        request = job.request
        with self._tokenizer_lock:
            decoded = [self._tokenizer.decode(s.tokens, skip_special_tokens=True) for s in job.sequences]
        served = [served_text(text, one_line=request.one_line, max_chars=request.max_chars) for text in decoded]
        job.future.set_result(
            GenerateResult(
                texts=[text for text, _ in served],
                token_counts=[len(s.tokens) for s in job.sequences],
                logprobs=[s.logprob for s in job.sequences],
                # A text cut to its limit did not end by itself, whatever stopped its sequence.
                finish_reasons=["max_chars" if cut else s.finish_reason for s, (_, cut) in zip(job.sequences, served)],
                adapter_id=job.request.adapter_id,
                model_id=self.model_id,
                seed=job.seed,
                elapsed_ms=(time.perf_counter() - job.submitted) * 1000.0,
            )
        )

    def _forward(self, adapter_names: list[str], **kwargs: object):
        moved = {k: v.to(self._device) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
        # Logits stay on the model's device: sampling and scoring run there.
        return self._adapters.forward(adapter_names, **moved)

    def _fail_running(self, exc: Exception) -> None:
        jobs = {id(s.owner): s.owner for batch in self._batches.values() for s in batch.rows}
        self._batches.clear()
        for job in jobs.values():
            assert isinstance(job, _GenerateJob)
            self._adapters.release(job.adapter)
            if not job.future.done():
                job.future.set_exception(exc)

    def _fail_everything(self, exc: Exception) -> None:
        self._fail_running(exc)
        while True:  # drain past the close sentinel too: a submit may have raced close()
            try:
                item = self._intake.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _ScoreJob):
                self._scores.append(item)
            elif isinstance(item, _EvictJob):
                item.future.set_result(0)  # nothing is loaded any more
            elif isinstance(item, _GenerateJob):
                self._pending.append(item)
        for job in [*self._pending, *self._scores]:
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(exc)
        self._pending.clear()
        self._scores.clear()

    def _check_positions(self, length: int) -> None:
        if self._max_positions is not None and length > self._max_positions:
            raise CapExceededError(f"prompt plus completion needs {length} positions; the model has {self._max_positions}")


_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def running_engines() -> list[Engine]:
    """The engines this process has started (none in a process that never served)."""
    with _ENGINES_LOCK:
        return list(_ENGINES.values())


def get_engine(base_model_path: str | Path, config: EngineConfig | None = None) -> Engine:
    """The process-wide engine for `base_model_path`, created on first use.

    Call it inside the worker process (after any fork), never in a parent that forks.
    A later call with a different explicit config raises rather than silently ignoring it.
    """
    key = str(Path(base_model_path).resolve())
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = Engine(key, config)
            _ENGINES[key] = engine
        elif config is not None and config != engine.config:
            raise ValueError(f"the engine for {key} already runs with {engine.config}, not {config}")
        return engine
