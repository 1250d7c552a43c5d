"""The data of a case page's viewer: the crop, each explanation's grayscale map and the colour tables.

The page carries it as JSON in a `<script type="application/json">` element, which
theme/assets/javascripts/map-viewer.js reads: no request beyond the PNGs themselves, so that the viewer works
from file:// as well as from a server. The maps are the figure stage's (`case_figures.viewer_map_path`), each
pixel an entry of its method's 256-colour table, the table the static figures are coloured through
(`plots.colormap_table`); the viewer's blend at the static figures' opacity is then their blend.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from markupsafe import Markup

from generator.render.case_figures import explanations, viewer_crop_path, viewer_map_path
from generator.utils import figures, plots

if TYPE_CHECKING:
    from generator.explain.base import AnyExplainer
    from generator.render.page_data import CasePage
    from generator.run.results import CaseResult


def viewer_maps(case: CaseResult, page: CasePage, explainers: Sequence[AnyExplainer]) -> list[dict[str, str]]:
    """Every explanation the case has, as {model, method, target (its name), src (relative to the page)}."""
    names = {column.key: dict(column.targets) for column in page.columns}
    return [
        {
            "model": key,
            "method": explainer.name,
            "target": names[key][target],
            "src": "../" + viewer_map_path(case.case_id, key, explainer.name, target),
        }
        for explainer, key, target, _ in explanations(case, explainers)
    ]


def viewer_data(case: CaseResult, page: CasePage, explainers: Sequence[AnyExplainer]) -> dict[str, object] | None:
    """The viewer's data (None: the case has no explanation to show)."""
    maps = viewer_maps(case, page, explainers)
    if not maps:
        return None
    shown = {entry["method"] for entry in maps}
    methods = [e for e in explainers if e.name in shown]
    return {
        "crop": "../" + viewer_crop_path(case.case_id, bool(case.regions)),
        "opacity": round(figures.HEATMAP_OPACITY * 100),
        "colormaps": {
            e.viewer_colormap: plots.colormap_table(e.viewer_colormap).ravel().tolist() for e in methods
        },
        "models": [{"key": c.key, "label": c.label} for c in page.columns if any(m["model"] == c.key for m in maps)],
        "methods": [{"name": e.name, "title": e.title, "colormap": e.viewer_colormap} for e in methods],
        "targets": list(dict.fromkeys(entry["target"] for entry in maps)),
        "maps": maps,
    }


def viewer_json(case: CaseResult, page: CasePage, explainers: Sequence[AnyExplainer]) -> Markup | None:
    """The data as JSON that is safe inside a <script> element (no "</" to close it early)."""
    data = viewer_data(case, page, explainers)
    if data is None:
        return None
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("</", "<\\/").replace("<!--", "<\\!--"))
