"""Plots (each returns its matplotlib Figure) and the `margin_explorer` widget."""
from .embedding_plots import plot_embeddings_2d, plot_sphere
from .margin_explorer import margin_explorer
from .margins import PAPER_CURVES, decision_regions, plot_target_logits, target_logit_curves
from .plots import cluster_gallery, image_grid, plot_history, plot_roc, plot_score_hist
from .toy import ToyMarginTrainer

__all__ = [
    "plot_roc", "plot_score_hist", "plot_history", "image_grid", "cluster_gallery",
    "plot_embeddings_2d", "plot_sphere", "plot_target_logits", "target_logit_curves",
    "decision_regions", "PAPER_CURVES", "margin_explorer", "ToyMarginTrainer",
]
