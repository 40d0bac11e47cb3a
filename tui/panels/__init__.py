"""Panels: one module per Stage kind; importing this package fills the kind → panel registry."""

from tui.panels import activation as _activation  # noqa: F401  (registers ActivationPanel)
from tui.panels import bptt as _bptt  # noqa: F401  (registers BpttPanel)
from tui.panels import conv as _conv  # noqa: F401  (registers ConvPanel)
from tui.panels import deep_recurrent as _deep_recurrent  # noqa: F401  (registers DeepRecurrentPanel)
from tui.panels import language as _language  # noqa: F401  (registers LanguageModelPanel)
from tui.panels import learn as _learn  # noqa: F401  (registers LearnPanel)
from tui.panels import pool as _pool  # noqa: F401  (registers PoolPanel)
from tui.panels import recurrent as _recurrent  # noqa: F401  (registers RecurrentPanel)
from tui.panels import tokens as _tokens  # noqa: F401  (registers TokenPanel)
from tui.panels.base import PANELS, Panel, panel_for, register

__all__ = ["PANELS", "Panel", "panel_for", "register"]
