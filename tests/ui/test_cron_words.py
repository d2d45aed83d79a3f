"""The sidebar's cron-to-words helper (labextension/src/cron.ts), run in node on the tsc output."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

CRON_JS = Path(__file__).resolve().parents[2] / "labextension" / "lib" / "cron.js"

CASES = {
    "0 0 * * *": "at 00:00, every day",
    "*/5 * * * *": "every 5 minutes",
    "42 * * * *": "at minute 42 of every hour",
    "30 9 * * 1-5": "at 09:30, on Monday through Friday",
    "0 9,12,17 * * *": "at 09:00, 12:00 and 17:00, every day",
    "0 */2 * * *": "at minute 0 past every 2 hours",
    "15 10 1 * *": "at 10:15, on day 1 of the month",
    "0 8 * JAN,JUL MON": "at 08:00, on Monday in January and July",
    "5 0 * 8 *": "at 00:05, every day in August",
    "@hourly": "every hour at minute 0",
    "@daily": "every day at 00:00",
    "@weekly": "every Sunday at 00:00",
    "@monthly": "every month on day 1 at 00:00",
    "@yearly": "every year on 1 January at 00:00",
    # The tutorial's 6-field form: second minute hour day-of-month month year.
    "0 0 12 1-15 2 2024": "at 12:00, on day 1 through 15 of the month in February, in 2024, then ends",
    "*/30 * * * * *": "every 30 seconds",
    # Unreadable input is shown as it is, never an exception.
    "61 * * * *": "cron 61 * * * *",
    "not a schedule": "cron not a schedule",
    "": "",
}


def test_cron_to_words() -> None:
    node = shutil.which("node")
    if node is None or not CRON_JS.exists():
        pytest.fail("needs node and the tsc output (make test builds it: cd labextension && jlpm build:prod)")
    script = (
        f"const {{ cronToWords }} = await import({json.dumps(CRON_JS.as_uri())});"
        f"console.log(JSON.stringify(Object.fromEntries({json.dumps(list(CASES))}.map(e => [e, cronToWords(e)]))));"
    )
    out = subprocess.run([node, "--no-warnings", "--input-type=module", "-e", script],
                         capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(out.stdout) == CASES
