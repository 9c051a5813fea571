"""database/ is a low layer like data/: no Dash, no Flask, nothing from app/, callbacks/ or ml/."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_database_package_imports_no_higher_layer():
    code = ("import importlib, sys\n"
            "for name in ['database.engine', 'database.tables', 'database.migrate', 'database.outreach']:\n"
            "    importlib.import_module(name)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'dash', 'flask', 'app', 'callbacks', 'components', 'ml'} or m.startswith('data.synthetic'))\n"
            "print(','.join(bad))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
