"""Plots (each returns its matplotlib Figure), tables, and widgets: the `margin_explorer` (lesson
03) and `live_figure`, the redraw-on-slide figure of lessons 02, 08, 09, 10 and 11.

Taught where they are first used: `plot_roc` and `plot_score_hist` in lesson 00, `print_table`
in lessons 03 and 07, `plot_examples_beside` in lessons 10 and 11, `noise_sheet` and
`relabel_gallery` in lesson 09.
"""
from .embedding_plots import plot_embeddings_2d, plot_sphere
from .galleries import image_strip, noise_sheet, plot_examples_beside, relabel_gallery
from .margin_explorer import margin_explorer
from .margins import PAPER_CURVES, decision_regions, plot_target_logits, target_logit_curves
from .plots import cluster_gallery, image_grid, plot_history, plot_roc, plot_score_hist
from .tables import format_table, print_table
from .toy import ToyMarginTrainer
from .widgets import live_figure

__all__ = [
    "plot_roc", "plot_score_hist", "plot_history", "image_grid", "cluster_gallery",
    "plot_embeddings_2d", "plot_sphere", "plot_target_logits", "target_logit_curves",
    "decision_regions", "PAPER_CURVES", "margin_explorer", "ToyMarginTrainer",
    "print_table", "format_table", "live_figure",
    "image_strip", "plot_examples_beside", "noise_sheet", "relabel_gallery",
]
