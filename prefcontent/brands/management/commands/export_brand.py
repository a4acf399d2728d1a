from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from prefcontent.brands.export import brand_export
from prefcontent.brands.models import Brand


class Command(BaseCommand):
    help = "Export everything a brand owns (JSON lines) and its adapter files into OUT_DIR."

    def add_arguments(self, parser):
        parser.add_argument("--brand", type=int, required=True)
        parser.add_argument("out_dir", type=Path)

    def handle(self, *args, brand, out_dir, **options):
        try:
            obj = Brand.objects.get(pk=brand)
        except Brand.DoesNotExist:
            raise CommandError(f"No brand {brand}.") from None
        if out_dir.exists() and any(out_dir.iterdir()):
            raise CommandError(f"{out_dir} is not empty.")
        manifest = brand_export(brand=obj, out_dir=out_dir)
        total = sum(manifest["counts"].values())
        self.stdout.write(f"exported {total} rows and {len(manifest['adapters'])} adapters to {out_dir}")
