"""The architecture diagram as inline SVG, laid out in Python (no Graphviz, no Mermaid, no JS).

A vertical tree that stays readable on a phone: the organisation on top, each environment
below it, each team of the environment as a card listing its GPU pools, buckets, registries
and pipelines. Names are never cut: text that would not fit its box wraps onto more lines
(``<tspan>``s of one ``<text>``, at a space or after a ``/ . - _ : @``, else anywhere) and the
box grows to hold them. Widths are estimated from character counts with a margin: detail rows
use a monospace font (advance 0.6 em), other text a sans-serif font estimated wider than its
widest common glyphs (digits, 0.64 em; bold 0.7 em). Each box is a ``<g>`` whose first
``<rect>`` holds all its text, which the browser test checks.
"""

from __future__ import annotations

from html import escape

from components import cron
from stacks.handoff.content import CLOUD_NAMES
from stacks.handoff.model import Bundle, TeamEnv

WIDTH = 560
PAD = 16
ROW = 20
MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace"
SANS = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"
TAGS = {  # kind -> (chip text, fill, stroke)
    "gpu": ("GPU", "#fef3c7", "#b45309"),
    "bucket": ("BUCKET", "#dcfce7", "#15803d"),
    "images": ("IMAGES", "#f3e8ff", "#7e22ce"),
    "models": ("MODELS", "#f3e8ff", "#7e22ce"),
    "pipeline": ("PIPELINE", "#ffe4e6", "#be123c"),
}


def _x(text: str) -> str:
    return escape(text, quote=True)


BREAK_AFTER = "/.-_:@,"


def wrap(text: str, width_px: float, font_px: float, em: float = 0.6) -> list[str]:
    """``text`` in lines of at most ``width_px`` at ``em`` advance per character.

    Lines break at a space (kept at the end of the line), else after one of
    ``BREAK_AFTER``, else anywhere; ``"".join(lines) == text``, so nothing is lost.
    """
    limit = max(1, int(width_px / (font_px * em)))
    lines: list[str] = []
    rest = text
    while len(rest) > limit:
        head = rest[: limit + 1]  # a space just past the limit can end the line
        cut = head.rfind(" ") + 1
        if cut <= 0:
            cut = max((head[:limit].rfind(c) + 1 for c in BREAK_AFTER), default=0)
        if cut <= limit // 3:  # nothing sensible to break at: break anywhere
            cut = limit
        lines.append(rest[:cut])
        rest = rest[cut:]
    return [*lines, rest] if rest or not lines else lines


def _em(mono: bool, weight: str) -> float:
    return 0.6 if mono else (0.7 if weight == "700" else 0.64)


def _text(x: float, y: float, text: str, *, size: float, width: float, weight: str = "normal",
          mono: bool = False, fill: str = "#0f172a", leading: float = 1.3) -> tuple[str, float]:
    """One ``<text>`` of ``text`` wrapped to ``width`` (first baseline at ``y``) and the
    height it adds below that baseline."""
    lines = wrap(text, width, size, _em(mono, weight))
    family = MONO if mono else SANS
    step = size * leading
    spans = "".join(f'<tspan x="{x:g}" dy="{0 if i == 0 else step:g}">{_x(line)}</tspan>'
                    for i, line in enumerate(lines))
    return (f'<text x="{x:g}" y="{y:g}" font-family="{_x(family)}" font-size="{size:g}" '
            f'font-weight="{weight}" fill="{fill}" xml:space="preserve">{spans}</text>',
            round(step * (len(lines) - 1), 2))


def team_rows(t: TeamEnv) -> list[tuple[str, str]]:
    rows = [("gpu", f"{p.name}: {p.accelerator} ×{p.gpus_per_node}, {p.min_nodes}–{p.max_nodes} "
                    f"nodes{', spot' if p.spot else ''}") for p in t.pools.values()]
    rows += [("bucket", b.uri) for b in t.buckets.values()]
    rows += [("images", t.container_registry), ("models", t.model_registry)]
    rows += [("pipeline", f"{p.name}: {cron.describe(p.schedule, p.timezone)}")
             for p in t.pipelines.values()]
    return rows


def diagram(bundle: Bundle) -> str:
    """The whole diagram as one ``<svg>`` element (deterministic text)."""
    body: list[str] = []
    y: float = PAD
    inner = WIDTH - 2 * PAD
    # Organisation
    n_teams = len(bundle.teams)
    title, extra = _text(PAD + 14, y + 22, bundle.org, size=18, width=inner - 28, weight="700",
                         fill="#ffffff")
    sub = (f"{CLOUD_NAMES.get(bundle.cloud, bundle.cloud)} · {len(bundle.environments)} "
           f"environment{'s' if len(bundle.environments) != 1 else ''} · {n_teams} "
           f"team{'s' if n_teams != 1 else ''}")
    subtitle, extra2 = _text(PAD + 14, y + 41 + extra, sub, size=12, width=inner - 28,
                             fill="#cbd5e1")
    org_h = 52 + extra + extra2
    body.append(f'<g class="box"><rect x="{PAD}" y="{y:g}" width="{inner}" height="{org_h:g}" '
                f'rx="8" fill="#1e293b"/>{title}{subtitle}</g>')
    org_bottom = y + org_h
    y = org_bottom + 16
    spine_x = PAD + 12
    env_x = PAD + 28
    env_w = WIDTH - PAD - env_x
    last_env_mid = org_bottom
    for env in bundle.environments:
        # Environment header, hooked to the organisation spine
        name, extra = _text(env_x + 12, y + 19, env.name, size=15, width=env_w - 24,
                            weight="700")
        details, extra2 = _text(env_x + 12, y + 36 + extra,
                                f"{env.tier} · {env.region} · {env.location} · "
                                f"cluster {env.cluster_name}", size=11.5, width=env_w - 24,
                                fill="#334155")
        env_h = 44 + extra + extra2
        mid = y + 22
        body.append(f'<path d="M{spine_x} {mid:g} H{env_x}" stroke="#64748b" stroke-width="2" '
                    'fill="none"/>')
        prod = env.tier == "production"
        body.append(f'<g class="box"><rect x="{env_x}" y="{y:g}" width="{env_w}" '
                    f'height="{env_h:g}" rx="6" fill="{"#fee2e2" if prod else "#e0f2fe"}" '
                    f'stroke="{"#b91c1c" if prod else "#0369a1"}" stroke-width="1.5"/>'
                    f"{name}{details}</g>")
        last_env_mid = mid
        y += env_h + 12
        team_spine = env_x + 12
        card_x = env_x + 28
        card_w = WIDTH - PAD - card_x
        env_bottom = y - 12
        last_card_mid = env_bottom
        for t in env.teams.values():
            parts: list[str] = []
            team, extra = _text(card_x + 10, y + 19, t.team, size=14, width=card_w - 20,
                                weight="700")
            parts.append(team)
            head_h = 28 + extra
            if t.description:
                desc, extra2 = _text(card_x + 10, y + head_h + 8, t.description, size=11,
                                     width=card_w - 20, fill="#334155")
                parts.append(desc)
                head_h += 14 + extra2
            ry = y + head_h + 2
            for kind, text in team_rows(t):
                chip, fill, stroke = TAGS[kind]
                line, extra = _text(card_x + 78, ry + 14, text, size=11.5, width=card_w - 86,
                                    mono=True)
                parts.append(f'<rect x="{card_x + 8}" y="{ry + 2:g}" width="62" height="15" '
                             f'rx="3" fill="{fill}" stroke="{stroke}" stroke-width="1"/>'
                             f'<text x="{card_x + 39}" y="{ry + 13:g}" text-anchor="middle" '
                             f'font-family="{_x(SANS)}" font-size="9" font-weight="700" '
                             f'fill="{stroke}">{chip}</text>{line}')
                ry += ROW + extra
            height = ry - y + 6
            body.append(f'<path d="M{team_spine} {y + 15:g} H{card_x}" stroke="#94a3b8" '
                        'stroke-width="1.5" fill="none"/>')
            body.append(f'<g class="team box" data-team="{_x(t.team)}">'
                        f'<rect x="{card_x}" y="{y:g}" width="{card_w}" height="{height:g}" '
                        'rx="6" fill="#ffffff" stroke="#1d4ed8" stroke-width="1.2"/>'
                        f'<rect x="{card_x}" y="{y:g}" width="{card_w}" height="{head_h:g}" '
                        'rx="6" fill="#dbeafe"/>' + "".join(parts) + "</g>")
            last_card_mid = y + 15
            y += height + 10
        if env.teams:
            body.append(f'<path d="M{team_spine} {env_bottom:g} V{last_card_mid:g}" '
                        'stroke="#94a3b8" stroke-width="1.5" fill="none"/>')
        y += 8
    body.insert(0, f'<path d="M{spine_x} {org_bottom:g} V{last_env_mid:g}" stroke="#64748b" '
                   'stroke-width="2" fill="none"/>')
    height = y - 8 + PAD - 10
    title = f"Architecture of {bundle.org}"
    desc = "; ".join(f"{e.name}: teams {', '.join(e.teams) or 'none'}"
                     for e in bundle.environments)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" id="architecture" class="diagram" '
            f'viewBox="0 0 {WIDTH} {height:g}" width="{WIDTH}" height="{height:g}" role="img" '
            f'aria-labelledby="architecture-title architecture-desc">'
            f'<title id="architecture-title">{_x(title)}</title>'
            f'<desc id="architecture-desc">{_x(desc)}</desc>'
            + "".join(body) + "</svg>")
