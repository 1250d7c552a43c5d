"""The overview's gallery: one card per case (its thumbnail, its title, each model's top-1 with a correct/wrong
mark), linking to the case page. The thumbnails load lazily, and with more than 60 cards the page's script
(theme/assets/javascripts/overview-gallery.js) shows them 60 at a time, so a report of 1,000 cases fetches only
the thumbnails shown and keeps its plots and case table a few screens down."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.render.page_data import CasePage


@dataclass(frozen=True)
class CardPrediction:
    model: str  # the model's label
    top1: str  # its top-1 class name
    correct: bool | None  # None: no ground truth (no mark)


@dataclass(frozen=True)
class GalleryCard:
    case_id: str
    title: str
    predictions: tuple[CardPrediction, ...]  # in the models' order


def gallery(case_pages: Sequence[CasePage]) -> tuple[GalleryCard, ...]:
    """A card per case, in the manifest's order."""
    return tuple(
        GalleryCard(
            page.case_id,
            page.title,
            tuple(CardPrediction(c.label, c.top_k[0].name, c.correct) for c in page.columns),
        )
        for page in case_pages
    )
