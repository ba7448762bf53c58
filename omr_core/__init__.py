"""omr_core: the eyes of ScoreEye — data formats, dataset building and validation, staged training, evaluation,
inference and annotation for optical music recognition.

The packages are layers (pyproject.toml, [tool.importlinter], checked by tests/test_layers.py), top to bottom:
ui, cli, workflows (use cases over several subsystems), training, evaluation | annotation, inference,
datasets | rendering, reports (HTML), viz | validation, ink, staff | formats, registry | jobs | workspace,
catalog | structures | offline, and at the bottom config_args | fileio | locations | names | fonts. Importing
omr_core never imports streamlit or torch; the UI lives in app.py/pages (and omr_core.ui), models at the edges.
"""

__version__ = "0.1.0"
