"""The demo house-price model and inputs the tutorials use (made by `make_samples.py`)."""

from __future__ import annotations

from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent
FILES = {
    "model": "rf_model.onnx",
    "smoke_test.df.json": "smoke_test.df.json",
    "smoke_test.arrow": "smoke_test.arrow",
    "batch_1k.df.json": "batch_1k.df.json",
    "batch_1k.arrow": "batch_1k.arrow",
}


def sample_paths() -> dict[str, Path]:
    """Name -> path of every sample file: `model`, `smoke_test.df.json`, `batch_1k.arrow`, ..."""
    return {name: SAMPLES_DIR / file for name, file in FILES.items()}
