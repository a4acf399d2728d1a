"""`manage.py generate --brand ID (--brief ID | --product ...) [--n N]`: generate in this process, no worker needed.

The job goes through the same checks, output filters and provenance as the API; it is
executed here instead of on a generate worker (handy for ops and for trying an adapter).
"""
from __future__ import annotations

import socket

from django.core.management.base import BaseCommand, CommandError

from prefcontent.brands.models import Brand
from prefcontent.content.models import Brief
from prefcontent.core.errors import DomainError
from prefcontent.generation.execution import generation_job_execute
from prefcontent.generation.services import generation_job_create, sampling_params
from prefcontent.tenancy.principal import SYSTEM


class Command(BaseCommand):
    help = "Generate variants for a brief with the brand's active adapter (or the base model) in this process."

    def add_arguments(self, parser):
        parser.add_argument("--brand", type=int, required=True)
        parser.add_argument("--brief", type=int, help="an existing brief of the brand")
        parser.add_argument("--product", default="")
        parser.add_argument("--audience", default="")
        parser.add_argument("--tone", default="")
        parser.add_argument("--channel")
        parser.add_argument("--n", type=int)
        parser.add_argument("--best-of", type=int, dest="best_of")
        parser.add_argument("--temperature", type=float)
        parser.add_argument("--top-p", type=float, dest="top_p")
        parser.add_argument("--max-new-tokens", type=int, dest="max_new_tokens")
        parser.add_argument("--seed", type=int)

    def handle(self, *args, **opts):
        brand = Brand.objects.filter(pk=opts["brand"]).first()
        if brand is None:
            raise CommandError(f"brand {opts['brand']} does not exist")
        if opts["brief"] is not None:
            brief = Brief.objects.filter(pk=opts["brief"], brand=brand).first()
            if brief is None:
                raise CommandError(f"brand {brand.pk} has no brief {opts['brief']}")
        else:
            brief = Brief(brand=brand, title="manage.py generate", product=opts["product"],
                          audience=opts["audience"], tone=opts["tone"])
        try:
            params = sampling_params(**{k: opts[k] for k in
                                        ("n", "best_of", "temperature", "top_p", "max_new_tokens", "seed")})
            job = generation_job_create(principal=SYSTEM, brand=brand, brief=brief, channel=opts["channel"],
                                        params=params, enqueue=False)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        job = generation_job_execute(job_id=job.pk, worker=f"manage.py@{socket.gethostname()}")
        if job.state != job.State.SUCCEEDED:
            raise CommandError(f"job {job.pk} failed: {job.error_code}: {job.error_message}")
        model = "base model" if job.uses_base_model else f"adapter v{job.adapter_version.version}"
        self.stdout.write(f"job {job.pk}: {model} ({job.model_id}), seed {job.seed}")
        for candidate in job.candidates.order_by("rank", "index"):
            where = f"variant {candidate.variant_id}" if candidate.variant_id else candidate.status
            self.stdout.write(f"  [{where}] {candidate.text}")
