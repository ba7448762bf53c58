"""ScoreEye Symbol Workbench: entry point, navigation and the shared sidebar.

    streamlit run app.py
"""

import os

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
os.environ.setdefault("WANDB_MODE", "offline")

import streamlit as st  # noqa: E402

from omr_core.ui import mark_entry, workspace_sidebar  # noqa: E402

st.set_page_config(page_title="ScoreEye Symbol Workbench", page_icon="🎼", layout="wide")

navigation = st.navigation([
    st.Page("pages/dataset.py", title="Dataset", icon="🗂️", default=True),
    st.Page("pages/training.py", title="Training", icon="🏋️"),
    st.Page("pages/inference.py", title="Inference", icon="🔎"),
    st.Page("pages/evaluation.py", title="Evaluation", icon="🎯"),
    st.Page("pages/annotation.py", title="Annotation", icon="✏️"),
])
mark_entry()
workspace_sidebar()
navigation.run()
