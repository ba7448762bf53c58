"""omr_core: the eyes of ScoreEye — data formats, dataset building, validation and (later) training,
evaluation, inference and annotation for optical music recognition.

Importing omr_core never imports streamlit or torch; the UI lives in app.py/pages, models at the edges.
"""

__version__ = "0.1.0"
