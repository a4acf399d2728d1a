"""`manage.py export_adapter --brand ID OUT_DIR`: copy a brand's active adapter out for vLLM and other engines."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from prefcontent.brands.models import Brand
from prefcontent.core.errors import DomainError
from prefcontent.generation.export import MANIFEST, adapter_export


class Command(BaseCommand):
    help = "Export the brand's active LoRA adapter (plain peft files + a manifest naming the base model it needs)."

    def add_arguments(self, parser):
        parser.add_argument("--brand", type=int, required=True, help="brand id")
        parser.add_argument("out_dir", type=Path, help="new or empty directory to write the adapter into")

    def handle(self, *args, brand: int, out_dir: Path, **options):
        found = Brand.objects.filter(pk=brand).first()
        if found is None:
            raise CommandError(f"brand {brand} does not exist")
        try:
            result = adapter_export(brand=found, out_dir=out_dir)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"exported adapter v{result.adapter_version} (id {result.adapter_version_id}) "
                          f"of brand {result.brand_id} to {result.out_dir}")
        self.stdout.write(f"base model: {result.base_model_id}")
        self.stdout.write(f"sha256: {result.sha256}  lora rank: {result.lora_rank}  manifest: {MANIFEST}")
        self.stdout.write(f"vLLM: vllm serve {result.base_model_id} --enable-lora "
                          f"--lora-modules brand-{result.brand_id}={result.out_dir}"
                          + (f" --max-lora-rank {result.lora_rank}" if result.lora_rank else ""))
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
