from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from learnpath.content.loader import ContentError, estimate_lines, load_content, parse_all


class Command(BaseCommand):
    help = "Load the content files (paths, drops, cards, FAQ, challenges) into the database, or --check them."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="validate only; write nothing")
        parser.add_argument("--root", default=None, help="content directory (default: settings.CONTENT_DIR)")

    def handle(self, *args, check: bool, root: str | None, **options):
        content_root = Path(root) if root else Path(settings.CONTENT_DIR)
        if not content_root.is_dir():
            raise CommandError(f"content directory {content_root} does not exist")
        if check:
            specs, _, problems = parse_all(content_root)
            for line in estimate_lines(specs):
                self.stdout.write(line)
            for problem in problems:
                self.stderr.write(str(problem))
            if problems:
                raise CommandError(f"{len(problems)} problem(s) found", returncode=1)
            self.stdout.write(self.style.SUCCESS(f"content in {content_root} is valid"))
            return
        try:
            report = load_content(content_root)
        except ContentError as error:
            for problem in error.problems:
                self.stderr.write(str(problem))
            raise CommandError(f"{len(error.problems)} problem(s) found; nothing was loaded", returncode=1) from None
        for line in report.lines:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"loaded {content_root}: {report.summary()}"))
