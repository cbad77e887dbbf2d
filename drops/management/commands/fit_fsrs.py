"""``manage.py fit_fsrs [--epochs N] [--if-new] [--json]``: fit the FSRS parameters to the stored review logs now.

The same fit as the daily ``drops.fit_fsrs_parameters`` task (drops.fsrs_fit): train on most card histories,
compare the fitted and the default parameters' log loss on the held-out ones, store the fit and use it only
if it is better. Exit status: 0 a fit was stored (accepted or not), 1 no fit was made (too few reviews,
nothing new with --if-new, another fit running), 2 py-fsrs's optimizer is not installed.
"""

from __future__ import annotations

import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from drops.fsrs_fit import FitSkipped, OptimizerMissing, fsrs_fit
from drops.models import FsrsFit


class Command(BaseCommand):
    help = "Fit the FSRS parameters to the review logs; report held-out log loss against the defaults."

    def add_arguments(self, parser):
        parser.add_argument("--epochs", type=int, default=None, help="optimizer epochs (default: FSRS_FIT_EPOCHS)")
        parser.add_argument("--if-new", action="store_true", help="only if something was reviewed since the last fit")
        parser.add_argument("--json", action="store_true", help="print the stored fit as JSON")

    def handle(self, *args, epochs: int | None, if_new: bool, json: bool, **options):
        if epochs is not None and not 1 <= epochs <= 100:
            raise CommandError("--epochs must be between 1 and 100", returncode=2)
        try:
            fit = fsrs_fit(epochs=epochs, only_if_new=if_new)
        except FitSkipped as skipped:
            raise CommandError(f"no fit: {skipped.message}", returncode=1) from None
        except OptimizerMissing as error:
            raise CommandError(str(error), returncode=2) from None
        if json:
            self.stdout.write(jsonlib.dumps(fit_summary(fit), indent=2))
            return
        self.stdout.write(
            f"Fitted on {fit.train_reviews:,} reviews ({fit.train_logs:,} logs) of {fit.learners:,} learners in "
            f"{fit.seconds:.1f} s, {fit.epochs} epochs; held out: {fit.held_out_reviews:,} reviews of "
            f"{fit.held_out_logs:,} logs."
        )
        self.stdout.write(
            f"Held-out log loss: fitted {fit.held_out_log_loss:.4f}, defaults {fit.default_held_out_log_loss:.4f} "
            f"(training: {fit.train_log_loss:.4f})."
        )
        if fit.accepted:
            self.stdout.write(self.style.SUCCESS(f"FSRS fit {fit.pk} accepted: the scheduler uses it from now on."))
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"FSRS fit {fit.pk} is not better than the defaults: the scheduler keeps its parameters."
                )
            )


def fit_summary(fit: FsrsFit) -> dict:
    return {
        "id": fit.pk,
        "fitted_at": fit.fitted_at.isoformat(),
        "accepted": fit.accepted,
        "parameters": fit.parameters,
        "fsrs_version": fit.fsrs_version,
        "logs_total": fit.logs_total,
        "logs_used": fit.logs_used,
        "learners": fit.learners,
        "train_logs": fit.train_logs,
        "train_reviews": fit.train_reviews,
        "held_out_logs": fit.held_out_logs,
        "held_out_reviews": fit.held_out_reviews,
        "held_out_log_loss": fit.held_out_log_loss,
        "default_held_out_log_loss": fit.default_held_out_log_loss,
        "train_log_loss": fit.train_log_loss,
        "epochs": fit.epochs,
        "seconds": fit.seconds,
    }
