#!/usr/bin/env bash
# The bundled detector in one go, with the project's own commands only (issue 16): engrave the corpus, train
# every stage of models/bundled_plan.yaml in order (each from the previous one's weights), compare the three
# architectures on stage 3.1, bundle the last stage, export it, and evaluate it on whole test pages (pieces
# never trained on) and on their phone-like variant. Made for a GPU: on 2 CPU cores one stage takes hours.
#
#   models/train_bundled.sh WORKSPACE [PAGES] [EPOCH_SCALE]
#
# PAGES: corpus pages to engrave (default 400: every class of 3.4 at the plan's 500 training instances where the
# corpus has them). EPOCH_SCALE: multiplies every stage's epochs (default 1; 0.05 for a smoke run).
# Everything a stage writes stays in WORKSPACE; a stopped run resumes where it stopped when run again (each
# finished stage's model is kept and skipped, a stage's own run resumes from its last checkpoint).
set -euo pipefail
WS=$(realpath -m "${1:?usage: models/train_bundled.sh WORKSPACE [PAGES] [EPOCH_SCALE]}")
PAGES=${2:-400}
EPOCH_SCALE=${3:-1}
HERE=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python}
export YOLO_OFFLINE=1 YOLO_AUTOINSTALL=false WANDB_MODE=${WANDB_MODE:-offline}
cli() { (cd "$HERE" && "$PY" -m omr_core "$@"); }
latest() {  # the newest registered model of a stage: WS/models/scoreeye-<stage>-<time>
  ls -d "$WS/models/scoreeye-$1-"2* 2>/dev/null | sort | tail -1 | xargs -r basename
}

mkdir -p "$WS"
(cd "$HERE" && "$PY" -c "import sys; from omr_core.workspace import Workspace; Workspace.open(sys.argv[1])" "$WS")
cp "$HERE/models/bundled_plan.yaml" "$WS/training_plan.yaml"
[ -f "$WS/sources/corpus/deepscores_test.json" ] ||
  cli generate "$WS/sources/corpus" --pages "$PAGES" --test-fraction 0.1 --seed 21 --workers "$(nproc)"

for stage in 3.1 3.2 3.3 3.4 noise 3.5 noise-3.5 arch-yolov8n arch-yolo11n arch-yolo26n; do
  if [ -n "$(latest "$stage")" ]; then echo "stage $stage: done ($(latest "$stage"))"; continue; fi
  cli stage-data "$stage" --workspace "$WS"
  epochs=$("$PY" -c "import sys, yaml; p = yaml.safe_load(open(sys.argv[1])); s = next(s for s in p['stages'] if s['name'] == sys.argv[2]); print(max(1, round(s.get('epochs', p['defaults']['epochs']) * float(sys.argv[3]))))" "$WS/training_plan.yaml" "$stage" "$EPOCH_SCALE")
  cli stage "$stage" --workspace "$WS" --set "epochs=$epochs"
done

final=$(latest noise-3.5)
cli bundle "$final" --name scoreeye-3.5-n --workspace "$WS"
cli export "$final" --int8 --workspace "$WS"
# whole test pages (the detector tiles and rescales them itself) and their phone-like variant
cli convert "$WS/sources/corpus" "$WS/datasets/pages-3.5" --class-set 3.5 --overwrite
cli scan "$WS/sources/corpus" "$WS/sources/corpus-phone" --preset phone --seed 1
cli convert "$WS/sources/corpus-phone" "$WS/datasets/pages-phone-3.5" --class-set 3.5 --overwrite
cli evaluate "$final" pages-3.5 --split test --workspace "$WS"
cli evaluate "$final" pages-phone-3.5 --split test --workspace "$WS"
for arch in yolov8n yolo11n yolo26n; do
  cli evaluate "$(latest "arch-$arch")" corpus-3.1 --split test --workspace "$WS"
done
echo "bundled: $HERE/models/scoreeye-3.5-n; evaluations: $WS/evaluations"
