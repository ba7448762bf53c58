import subprocess
import sys


def test_core_imports_without_streamlit_or_torch():
    code = (
        "import sys, omr_core, omr_core.structures, omr_core.catalog, omr_core.formats.deepscores, "
        "omr_core.formats.yolo, omr_core.datasets.convert, omr_core.datasets.gallery, omr_core.validation, "
        "omr_core.viz, omr_core.workspace, omr_core.jobs, omr_core.cli, omr_core.rendering.generate, "
        "omr_core.rendering.verovio_page, omr_core.rendering.box_check, omr_core.datasets.scan_variant, "
        "omr_core.reports, omr_core.workflows.apply_suggestion, omr_core.workflows.default_workspace, "
        "omr_core.inference.viewing, omr_core.offline, omr_core.locations, omr_core.annotation.work, "
        "omr_core.evaluation.viewing, omr_core.training.launch\n"
        "bad = [m for m in ('streamlit', 'torch', 'ultralytics') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
