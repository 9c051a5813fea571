"""Quality measures defined per program in the pathway definition (data.pathway.Measure),
computed on the per-patient cohort frame. ``python -m data.measures --out FILE`` writes them as JSON."""
from data.measures.follow_up import (
                                     EVALUATION_LABELS,
                                     MeasureResult,
                                     evaluate_patients,
                                     measure_result,
                                     result_of,
                                     rate_table,
)

__all__ = ["EVALUATION_LABELS", "MeasureResult", "evaluate_patients", "measure_result", "rate_table", "result_of"]
