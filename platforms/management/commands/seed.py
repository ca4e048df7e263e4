from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from platforms.registry import DEFAULT_PATH, RegistryError, load_registry
from platforms.services import SeedConflict, registry_seed


class Command(BaseCommand):
    help = "Create or update the platform registry from platforms/data/registry.toml (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, default=DEFAULT_PATH, help="registry TOML file")

    def handle(self, *args, file: Path, **options):
        try:
            entries = load_registry(file)
            report = registry_seed(entries=entries)
        except RegistryError as exc:
            raise CommandError(f"registry file is invalid: {exc}") from None
        except SeedConflict as exc:
            raise CommandError(f"nothing was changed: {exc}") from None
        except ValidationError as exc:
            raise CommandError(f"nothing was changed: a registry row is invalid: {exc}") from None
        for line in report.lines():
            self.stdout.write(line)
