"""The lessons' interactive demos: what each is called, what it shows, and the files that run it.

A drop embeds one with ``[[demo:<name>]]`` (learnpath.content.render turns the marker into a mount
``<div data-demo="<name>">``); the drop page loads the scripts of the demos its body holds, and the
public demos page (/demos/) shows every demo to anyone, signed in or not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MOUNT = re.compile(r'<div class="[a-z-]+-demo" data-demo="(?P<name>[a-z-]+)"></div>')


@dataclass(frozen=True)
class Demo:
    name: str
    title: str
    summary: str
    script: str  # static path of the ES module that builds every mount of this demo (it imports demo-kit.js)
    stylesheet: str  # its stylesheet, which imports demo-kit.css: the rules the demos share

    @property
    def anchor(self) -> str:
        return f"demo-{self.name}"


# One entry per name in learnpath.content.render.KNOWN_DEMOS (the names content may embed).
DEMOS: dict[str, Demo] = {
    demo.name: demo
    for demo in (
        Demo(
            name="pipeline",
            title="The distillation pipeline, step by step",
            summary=(
                "A teacher's logits for one example become soft labels at a temperature you choose, shown beside "
                "the hard label. A student then takes gradient steps on the distillation loss: watch its "
                "distribution move and the soft and hard terms change as you set T, α and the number of steps."
            ),
            script="drops/pipeline-demo.js",
            stylesheet="drops/pipeline-demo.css",
        ),
        Demo(
            name="temperature",
            title="Temperature and KL divergence",
            summary=(
                "Divide the teacher's and the student's logits by T and see the distributions flatten, the KL "
                "between them fall and T²·KL, the soft loss, level off. Edit the logits to move the student."
            ),
            script="drops/temperature-demo.js",
            stylesheet="drops/temperature-demo.css",
        ),
    )
}


def demos_in_html(html: str) -> list[Demo]:
    """The demos a rendered drop body mounts, each once, in the order they first appear."""
    names = dict.fromkeys(match["name"] for match in MOUNT.finditer(html))
    return [DEMOS[name] for name in names if name in DEMOS]


def demo_uses() -> dict[str, list]:
    """For each demo, the drops that embed it (with their path), in path and day order."""
    from drops.models import Drop

    uses: dict[str, list] = {name: [] for name in DEMOS}
    drops = Drop.objects.filter(body_html__contains='data-demo="').select_related("path").order_by("path", "position")
    for drop in drops.only("pk", "title", "position", "body_html", "path__slug", "path__title"):
        for demo in demos_in_html(drop.body_html):
            uses[demo.name].append(drop)
    return uses
