"""/dashboard/generate/: a brief in, candidates out with compliance flags and preference scores.

Generation runs on the generate workers: the form queues a job through the generation
service and the job page polls until it is done. Stored candidates are already variants
(the generation worker saves them with provenance), so "save" here means picking them
for a new experiment.
"""
from __future__ import annotations

import random

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from prefcontent.adapters.selectors import adapter_active_for
from prefcontent.content.models import Brief
from prefcontent.core.errors import InvalidInput, InvalidState
from prefcontent.core.fields import parse_id
from prefcontent.dashboard.forms import ExperimentCreateForm, GenerateForm
from prefcontent.dashboard.views.base import (
    Dash,
    dashboard_page,
    form_error,
    page_context,
)
from prefcontent.generation import selectors as generation_selectors
from prefcontent.generation import services as generation_services
from prefcontent.generation.conf import generation_settings
from prefcontent.generation.models import GeneratedCandidate, GenerationJob

RECENT_JOBS = 10
BRIEF_FIELDS = ("title", "product", "audience", "tone", "constraints")


def _recent_jobs(dash: Dash):
    return (generation_selectors.generation_job_list(principal=dash.principal)
            .filter(brand=dash.brand, kind=GenerationJob.Kind.GENERATE)[:RECENT_JOBS])


@require_http_methods(["GET", "POST"])
@dashboard_page
def generate(request: HttpRequest, dash: Dash) -> HttpResponse:
    active = adapter_active_for(dash.brand)
    form = GenerateForm(request.POST or None, initial={"channel": "headline"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        n = data["n"]
        best_of = min(2 * n, generation_settings().max_n) if data["rank_by_preference"] else None
        seed = data["seed"] if data["seed"] is not None else random.randrange(2**31)
        try:
            job = generation_services.generation_job_create(
                principal=dash.principal, brand=dash.brand,
                brief=Brief(brand=dash.brand, **{k: data[k] for k in BRIEF_FIELDS}), channel=data["channel"],
                params=generation_services.sampling_params(n=n, temperature=data["temperature"],
                                                           seed=seed, best_of=best_of),
            )
            base_job = None
            if active is not None and data["compare_with_base"]:
                # Same brief row and seed, base model: the two columns differ only by the adapter.
                base_job = generation_services.generation_job_create(
                    principal=dash.principal, brand=dash.brand, brief=job.brief, channel=data["channel"],
                    params=generation_services.sampling_params(n=n, temperature=data["temperature"], seed=seed),
                    use_base_model=True,
                )
        except (InvalidInput, InvalidState) as exc:
            form_error(form, exc)
        else:
            url = reverse("dashboard:generate_job", kwargs={"job_id": job.pk})
            return redirect(f"{url}?compare={base_job.pk}" if base_job else url)
    context = page_context(dash, form=form, active=active, jobs=_recent_jobs(dash))
    return render(request, "dashboard/generate/form.html", context, status=400 if form.errors else 200)


def _job_context(dash: Dash, job: GenerationJob) -> dict:
    candidates = list(job.candidates.select_related("variant"))
    stored = [c for c in candidates if c.status in GeneratedCandidate.STORED and c.variant_id]
    experiment_form = ExperimentCreateForm(
        variants=[c.variant for c in stored],
        initial={"name": f"{job.brief.title if job.brief else 'Generated'} test"[:200],
                 "variants": [c.variant_id for c in stored], "control": stored[0].variant_id if stored else None,
                 "allocation": "fixed", "primary_metric": "click", "min_sample_per_arm": 1000},
    )
    return page_context(dash, job=job, candidates=candidates, stored=stored, experiment_form=experiment_form)


@require_GET
@dashboard_page
def generate_job(request: HttpRequest, dash: Dash, job_id: int) -> HttpResponse:
    job = generation_selectors.generation_job_get(principal=dash.principal, job_id=job_id)
    context = _job_context(dash, job)
    compare = parse_id(request.GET.get("compare", ""))
    if compare:
        base_job = generation_selectors.generation_job_get(principal=dash.principal, job_id=compare)
        if base_job.brand_id != dash.brand.pk:
            raise Http404("No such generation.")
        base = _job_context(dash, base_job)
        context.update(base_job=base_job, base_candidates=base["candidates"])
    return render(request, "dashboard/generate/job.html", context)


@require_GET
@dashboard_page
def generate_job_candidates(request: HttpRequest, dash: Dash, job_id: int) -> HttpResponse:
    """The job's state and candidates, polled until the job is done."""
    job = generation_selectors.generation_job_get(principal=dash.principal, job_id=job_id)
    context = _job_context(dash, job)
    if request.GET.get("side") == "base":
        context["stored"] = []  # the experiment form belongs to the adapter's column
    response = render(request, "dashboard/generate/_candidates.html", context)
    if job.is_done:
        response["X-Poll-Done"] = "1"
    return response
