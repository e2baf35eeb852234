#!/usr/bin/env bash
# The cuda target at gpt-oss-20b widths in one short run on an NVIDIA machine (see app/bench/cuda_check.py and
# ../shared/reference/gpu-testing.md). Usage: bash packaging/gpu/check-cuda.sh [LAYERS] (default 2; 24 = real size).
set -euo pipefail
cd "$(dirname "$0")/../.."
nvidia-smi || true
PY=${PYTHON:-python3}
"$PY" -c "import onnxruntime as o; print(o.__version__, o.get_available_providers())"
work=$(mktemp -d /tmp/enclave-cuda-check.XXXXXX)
rmdir "$work"
HF_HUB_OFFLINE=1 "$PY" -m app.bench.cuda_check --work "$work" --layers "${1:-2}" | tee cuda-check.log
