"""The architecture diagram as inline SVG, laid out in Python (no Graphviz, no Mermaid, no JS).

A vertical tree that stays readable on a phone: the organisation on top, each environment
below it, each team of the environment as a card listing its GPU pools, buckets, registries
and pipelines. Widths are estimated from character counts (detail rows use a monospace font,
whose advance is 0.6 em); text that would not fit is cut with an ellipsis and the full text is
kept in a ``<title>`` tooltip.
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


def fit(text: str, width_px: float, font_px: float, em: float = 0.6) -> str:
    """``text`` cut to ``width_px`` at ``em`` advance per character (ellipsis when cut)."""
    limit = int(width_px / (font_px * em))
    return text if len(text) <= limit else text[: max(1, limit - 1)].rstrip() + "…"


def _text(x: float, y: float, text: str, *, size: float, width: float, weight: str = "normal",
          mono: bool = False, fill: str = "#0f172a", em: float | None = None) -> str:
    shown = fit(text, width, size, em if em is not None else (0.6 if mono else 0.62))
    family = MONO if mono else SANS
    tip = f"<title>{_x(text)}</title>" if shown != text else ""
    return (f'<text x="{x:g}" y="{y:g}" font-family="{_x(family)}" font-size="{size:g}" '
            f'font-weight="{weight}" fill="{fill}">{tip}{_x(shown)}</text>')


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
    y = PAD
    inner = WIDTH - 2 * PAD
    # Organisation
    n_teams = len(bundle.teams)
    body.append(f'<rect x="{PAD}" y="{y}" width="{inner}" height="52" rx="8" fill="#1e293b"/>')
    body.append(_text(PAD + 14, y + 22, bundle.org, size=18, width=inner - 28, weight="700",
                      fill="#ffffff"))
    sub = (f"{CLOUD_NAMES.get(bundle.cloud, bundle.cloud)} · {len(bundle.environments)} "
           f"environment{'s' if len(bundle.environments) != 1 else ''} · {n_teams} "
           f"team{'s' if n_teams != 1 else ''}")
    body.append(_text(PAD + 14, y + 41, sub, size=12, width=inner - 28, fill="#cbd5e1"))
    org_bottom = y + 52
    y = org_bottom + 16
    spine_x = PAD + 12
    env_x = PAD + 28
    env_w = WIDTH - PAD - env_x
    last_env_mid = org_bottom
    for env in bundle.environments:
        # Environment header, hooked to the organisation spine
        mid = y + 22
        body.append(f'<path d="M{spine_x} {mid} H{env_x}" stroke="#64748b" stroke-width="2" '
                    'fill="none"/>')
        prod = env.tier == "production"
        body.append(f'<rect x="{env_x}" y="{y}" width="{env_w}" height="44" rx="6" '
                    f'fill="{"#fee2e2" if prod else "#e0f2fe"}" '
                    f'stroke="{"#b91c1c" if prod else "#0369a1"}" stroke-width="1.5"/>')
        body.append(_text(env_x + 12, y + 19, env.name, size=15, width=env_w - 24,
                          weight="700"))
        body.append(_text(env_x + 12, y + 36, f"{env.tier} · {env.region} · {env.location} · "
                          f"cluster {env.cluster_name}", size=11.5, width=env_w - 24,
                          fill="#334155"))
        last_env_mid = mid
        y += 44 + 12
        team_spine = env_x + 12
        card_x = env_x + 28
        card_w = WIDTH - PAD - card_x
        env_bottom = y - 12
        last_card_mid = env_bottom
        for t in env.teams.values():
            rows = team_rows(t)
            height = 30 + len(rows) * ROW + 6
            body.append(f'<path d="M{team_spine} {y + 15} H{card_x}" stroke="#94a3b8" '
                        'stroke-width="1.5" fill="none"/>')
            body.append(f'<g class="team" data-team="{_x(t.team)}">')
            body.append(f'<rect x="{card_x}" y="{y}" width="{card_w}" height="{height}" rx="6" '
                        'fill="#ffffff" stroke="#1d4ed8" stroke-width="1.2"/>')
            body.append(f'<rect x="{card_x}" y="{y}" width="{card_w}" height="28" rx="6" '
                        'fill="#dbeafe"/>')
            title_w = min(card_w - 24, 8 + len(t.team) * 14 * 0.62)
            body.append(_text(card_x + 10, y + 19, t.team, size=14, width=card_w - 20,
                              weight="700"))
            if t.description:
                body.append(_text(card_x + 18 + title_w, y + 19, t.description, size=11,
                                  width=card_w - 28 - title_w, fill="#334155"))
            ry = y + 30
            for kind, text in rows:
                chip, fill, stroke = TAGS[kind]
                body.append(f'<rect x="{card_x + 8}" y="{ry + 2}" width="62" height="15" rx="3" '
                            f'fill="{fill}" stroke="{stroke}" stroke-width="1"/>')
                body.append(f'<text x="{card_x + 39}" y="{ry + 13}" text-anchor="middle" '
                            f'font-family="{_x(SANS)}" font-size="9" font-weight="700" '
                            f'fill="{stroke}">{chip}</text>')
                body.append(_text(card_x + 78, ry + 14, text, size=11.5, width=card_w - 86,
                                  mono=True))
                ry += ROW
            body.append("</g>")
            last_card_mid = y + 15
            y += height + 10
        if env.teams:
            body.append(f'<path d="M{team_spine} {env_bottom} V{last_card_mid}" '
                        'stroke="#94a3b8" stroke-width="1.5" fill="none"/>')
        y += 8
    body.insert(0, f'<path d="M{spine_x} {org_bottom} V{last_env_mid}" stroke="#64748b" '
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
