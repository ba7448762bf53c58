"""ScoreEye Symbol Workbench: entry point, navigation and the shared sidebar.

    streamlit run app.py
"""

from omr_core.offline import apply_defaults

apply_defaults()  # Ultralytics and W&B told to stay offline before any page imports them

import streamlit as st  # noqa: E402

from omr_core.ui import mark_entry, workspace_sidebar  # noqa: E402

# Material icons come with Streamlit's own font: emoji would need an emoji font on the user's machine, and
# render as empty boxes without one.
st.set_page_config(page_title="ScoreEye Symbol Workbench", page_icon=":material/music_note:", layout="wide")

navigation = st.navigation([
    st.Page("pages/dataset.py", title="Dataset", icon=":material/dataset:", default=True),
    st.Page("pages/training.py", title="Training", icon=":material/model_training:"),
    st.Page("pages/inference.py", title="Inference", icon=":material/image_search:"),
    st.Page("pages/evaluation.py", title="Evaluation", icon=":material/analytics:"),
    st.Page("pages/annotation.py", title="Annotation", icon=":material/edit_square:"),
])
mark_entry()
workspace_sidebar()
navigation.run()
