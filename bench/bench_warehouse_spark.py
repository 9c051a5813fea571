"""The warehouse parity queries on PySpark in local mode: the same Ibis expressions and prepared
statements the app runs on DuckDB (data/warehouse), against the pandas reference, on the
cohorts of tests/data/test_warehouse_parity.py.

    .venv/bin/pip install -r bench/requirements-bench.txt   # pyspark; Java 17 on the PATH
    .venv/bin/python bench/bench_warehouse_spark.py [--patients 3000]

Records, per cohort, whether every number matches (counts exactly, rates/quantiles to 1e-12,
same order) or the first difference, and the time: Spark session start, table registration,
queries. Writes bench/results/warehouse-spark.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cohort_frame(patients: int, seed: int):
    """The synthetic cohort frame as the parity test builds it (risk tiers, unrecorded sites/payers)."""
    from data.io import read_dataset, write_dataset
    from data.synthetic.dataset import generate_tables
    from tests.data.test_warehouse_parity import parity_frame

    tables, manifest = generate_tables(patients, seed)
    folder = Path(tempfile.mkdtemp(prefix="carepath-spark-")) / "data"
    write_dataset(tables, manifest, folder)
    dataset = read_dataset(folder)
    return parity_frame(dataset), dataset


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [""])[0][:400]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    result = {"date": str(date.today()), "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}", "patients": args.patients}
    out = ROOT / "bench" / "results" / "warehouse-spark.json"
    out.parent.mkdir(exist_ok=True)
    try:
        import ibis
        import pyspark
        from pyspark.sql import SparkSession

        from data.warehouse.engine import IbisEngine, PandasEngine
        from tests.data.test_warehouse_parity import assert_same_numbers, cohorts

        result["versions"] = {"pyspark": pyspark.__version__, "ibis": ibis.__version__}
        frame, dataset = cohort_frame(args.patients, args.seed)
        # Spark's Python workers must be this interpreter (the venv with pandas), not python3 on the PATH.
        os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
        scratch = Path(tempfile.mkdtemp(prefix="carepath-spark-warehouse-"))
        started = time.perf_counter()
        # Naive timestamps must not move with the machine's zone; two local cores like the app's host.
        session = (SparkSession.builder.master("local[2]").appName("carepath-parity")
                   .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
                   .config("spark.sql.shuffle.partitions", "4")
                   .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
                   .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={scratch}")
                   .getOrCreate())
        session.sparkContext.setLogLevel("ERROR")
        result["session_start_s"] = round(time.perf_counter() - started, 1)
        backend = ibis.pyspark.connect(session)
        engine = IbisEngine(lambda: backend, frame, dataset.pathway, name="pyspark")
        started = time.perf_counter()
        engine._cohort_tables()
        result["register_s"] = round(time.perf_counter() - started, 1)
        reference = PandasEngine(frame, dataset.pathway)
        outcomes, started = {}, time.perf_counter()
        for name, cohort in cohorts(frame, dataset.pathway).items():
            try:
                assert_same_numbers(reference, engine, cohort)
                outcomes[name] = "identical"
            except AssertionError as error:
                outcomes[name] = f"differs: {_first_line(error)}"
            except Exception as error:  # a query Spark refuses: record which and why
                outcomes[name] = f"error: {type(error).__name__}: {_first_line(error)}"
            print(f"{name}: {outcomes[name]}", flush=True)
        result["queries_s"] = round(time.perf_counter() - started, 1)
        result["cohorts"] = outcomes
        result["all_identical"] = all(v == "identical" for v in outcomes.values())
        session.stop()
    except Exception as error:
        result["failed"] = f"{type(error).__name__}: {_first_line(error)}"
        result["traceback"] = traceback.format_exc().splitlines()[-12:]
        print(result["failed"], flush=True)
    print(json.dumps({k: v for k, v in result.items() if k != "traceback"}, indent=1), flush=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
