"""Make the demo house-price model and its input files from synthetic data (fixed seed).

The model is a small scikit-learn random forest converted to ONNX: input `float_input`
float32 [None, 18], output `variable` float32 [None, 1]. The inputs are pandas-records JSON
(`.df.json`, a `tensor` column of 18 floats per row) and Arrow IPC files (`.arrow`, `tensor` as
fixed_size_list<float32>[18]).

    python -m jupyter_orch.samples.make_samples [--out DIR]

Needs scikit-learn and skl2onnx (the `test` extra); the generated files are committed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pyarrow as pa

FEATURES = [
    "bedrooms", "bathrooms", "sqft_living", "sqft_lot", "floors", "waterfront", "view",
    "condition", "grade", "sqft_above", "sqft_basement", "lat", "long", "sqft_living15",
    "sqft_lot15", "house_age", "renovated", "yrs_since_reno",
]
# The reference tutorial's example row (about 700k).
SMOKE_ROW = [4.0, 2.5, 2900.0, 5505.0, 2.0, 0.0, 0.0, 3.0, 8.0, 2900.0, 0.0, 47.6063, -122.02,
             2970.0, 5251.0, 12.0, 0.0, 0.0]
SEED = 20230517
TREES = 50
MAX_DEPTH = 9


def houses(rng: np.random.Generator, n: int) -> np.ndarray:
    """n synthetic houses with King County-like value ranges, shape (n, 18), float64."""
    bedrooms = np.clip(rng.poisson(3.2, n), 1, 8).astype(float)
    bathrooms = np.clip(np.round((bedrooms * 0.6 + rng.normal(0.3, 0.5, n)) * 4) / 4, 0.75, 6.0)
    sqft_living = np.clip(np.round(np.exp(rng.normal(7.45, 0.38, n)) + bedrooms * 150, -1), 400, 9000)
    sqft_lot = np.clip(np.round(np.exp(rng.normal(8.9, 0.8, n)), -1), 600, 200_000)
    floors = rng.choice([1.0, 1.5, 2.0, 2.5, 3.0], n, p=[0.49, 0.09, 0.38, 0.01, 0.03])
    waterfront = (rng.random(n) < 0.01).astype(float)
    view = rng.choice([0.0, 1.0, 2.0, 3.0, 4.0], n, p=[0.9, 0.02, 0.045, 0.025, 0.01])
    condition = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], n, p=[0.01, 0.01, 0.65, 0.25, 0.08])
    grade = np.clip(np.round(7 + (np.log(sqft_living) - 7.55) * 2.2 + rng.normal(0, 0.6, n)), 3, 13)
    has_basement = rng.random(n) < 0.4
    sqft_basement = np.where(has_basement, np.round(sqft_living * rng.uniform(0.15, 0.45, n), -1), 0.0)
    sqft_above = sqft_living - sqft_basement
    lat = np.round(rng.uniform(47.16, 47.78, n), 4)
    long = np.round(rng.uniform(-122.51, -121.32, n), 3)
    sqft_living15 = np.clip(np.round(sqft_living * rng.normal(0.95, 0.15, n), -1), 400, 6500)
    sqft_lot15 = np.clip(np.round(sqft_lot * rng.normal(0.95, 0.2, n), -1), 600, 200_000)
    house_age = np.round(rng.uniform(0, 115, n))
    renovated = ((rng.random(n) < 0.05) & (house_age > 20)).astype(float)
    yrs_since_reno = np.where(renovated > 0, np.round(house_age * rng.uniform(0, 0.8, n)), 0.0)
    return np.column_stack([
        bedrooms, bathrooms, sqft_living, sqft_lot, floors, waterfront, view, condition, grade,
        sqft_above, sqft_basement, lat, long, sqft_living15, sqft_lot15, house_age, renovated,
        yrs_since_reno,
    ])


def prices(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    column = {name: x[:, i] for i, name in enumerate(FEATURES)}
    price = (
        130_000
        + 120 * column["sqft_living"]
        + 50_000 * (column["grade"] - 7)
        + 600_000 * (column["lat"] - 47.35)
        - 60_000 * (column["long"] + 122.0)
        + 20_000 * column["bathrooms"]
        + 550_000 * column["waterfront"]
        + 45_000 * column["view"]
        + 15_000 * (column["condition"] - 3)
        + 4 * np.sqrt(column["sqft_lot"])
        - 400 * column["house_age"]
        + 30_000 * column["renovated"]
    )
    return np.maximum(price * rng.normal(1.0, 0.06, len(price)), 75_000)


def train_model(rng: np.random.Generator) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.ensemble import RandomForestRegressor

    x = houses(rng, 20_000)
    y = prices(rng, x)
    forest = RandomForestRegressor(
        n_estimators=TREES, max_depth=MAX_DEPTH, min_samples_leaf=5, random_state=SEED, n_jobs=1
    )
    forest.fit(x.astype(np.float32), y)
    onnx_model = convert_sklearn(
        forest,
        name="house_price_forest",  # a fixed graph name keeps the file byte-for-byte reproducible
        initial_types=[("float_input", FloatTensorType([None, len(FEATURES)]))],
    )
    return onnx_model.SerializeToString()


def write_inputs(out: Path, stem: str, rows: np.ndarray) -> None:
    records = [{"tensor": [float(v) for v in row]} for row in rows]
    (out / f"{stem}.df.json").write_text(json.dumps(records) + "\n")
    flat = pa.array(rows.astype(np.float32).ravel())
    tensor = pa.FixedSizeListArray.from_arrays(flat, len(FEATURES))
    table = pa.table({"tensor": tensor})
    with pa.OSFile(str(out / f"{stem}.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def make(out: Path) -> None:
    rng = np.random.default_rng(SEED)
    out.mkdir(parents=True, exist_ok=True)
    (out / "rf_model.onnx").write_bytes(train_model(rng))
    write_inputs(out, "smoke_test", np.array([SMOKE_ROW]))
    write_inputs(out, "batch_1k", houses(rng, 1_000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    make(parser.parse_args().out)


if __name__ == "__main__":
    main()
