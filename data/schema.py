"""The data contract: the tables CarePath reads, their columns, types and allowed values.

Every loader, validator and generator refers to these definitions, so the contract
is written down exactly once.
"""
from __future__ import annotations

from dataclasses import dataclass

STAGES = ("screening", "diagnosis", "treatment", "follow_up")
STAGE_LABELS = {
    "screening": "Screening",
    "diagnosis": "Diagnosis",
    "treatment": "Treatment",
    "follow_up": "Follow-up",
}
# Result values allowed per stage; None means the stage carries no result.
STAGE_RESULTS = {
    "screening": ("positive", "negative"),
    "diagnosis": ("confirmed", "ruled_out"),
    "treatment": None,
    "follow_up": None,
}
# The result that makes the next stage indicated (anything else ends the pathway
# appropriately).  Treatment always leads on to follow-up.
INDICATING_RESULT = {"screening": "positive", "diagnosis": "confirmed", "treatment": None}
NEXT_STAGE = {"screening": "diagnosis", "diagnosis": "treatment", "treatment": "follow_up"}

PROGRAMS = ("colorectal", "diabetes", "depression")
PROGRAM_LABELS = {
    "colorectal": "Colorectal cancer screening",
    "diabetes": "Diabetes",
    "depression": "Depression",
}
SEXES = ("F", "M")
RACE_ETHNICITIES = ("White", "Black", "Hispanic", "Asian", "Other")
LANGUAGES = ("English", "Spanish", "Other")
PAYERS = ("Commercial", "Medicare", "Medicaid", "Uninsured")
REGIONS = ("urban", "suburban", "rural")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "str", "int", "float", "bool", "date"
    required: bool = True
    nullable: bool = False
    allowed: tuple | None = None
    min_value: float | None = None
    max_value: float | None = None
    description: str = ""


PATIENT_COLUMNS = (
    Column("patient_id", "str", description="Unique patient identifier."),
    Column("enrollment_date", "date", description="Date the patient was invited to the program (pathway start)."),
    Column("program", "str", allowed=PROGRAMS, description="Care program."),
    Column("age", "int", min_value=18, max_value=100, description="Age in years at enrollment."),
    Column("sex", "str", allowed=SEXES),
    Column("race_ethnicity", "str", allowed=RACE_ETHNICITIES),
    Column("language", "str", allowed=LANGUAGES, description="Preferred language."),
    Column("payer", "str", allowed=PAYERS),
    Column("region", "str", allowed=REGIONS),
    Column("site", "str", description="Home clinic site."),
    Column("adi", "int", min_value=1, max_value=100, description="Area deprivation index (national percentile)."),
    Column("distance_km", "float", min_value=0, description="Distance from home to clinic, km."),
    Column("comorbidity_index", "int", min_value=0, max_value=15, description="Charlson-style comorbidity index."),
    Column("prior_no_shows_12m", "int", min_value=0, description="Missed appointments in the 12 months before enrollment."),
    Column("prior_visits_12m", "int", min_value=0, description="Visits in the 12 months before enrollment."),
    Column("portal_user", "bool", description="Uses the patient portal."),
    Column("est_out_of_pocket", "float", min_value=0, description="Estimated out-of-pocket cost of the pathway, USD."),
    Column("prior_allowed_cost_12m", "float", min_value=0,
           description="Claims allowed cost in the 12 months before enrollment, USD (known at enrollment)."),
    Column("allowed_cost_to_date", "float", min_value=0,
           description="Claims allowed cost from 12 months before enrollment up to the as-of date, USD. "
                       "Includes costs billed after any decision point: never a model feature."),
)

EVENT_COLUMNS = (
    Column("patient_id", "str"),
    Column("stage", "str", allowed=STAGES),
    Column("date", "date", description="Day the stage took place."),
    Column("result", "str", nullable=True,
           allowed=tuple(r for rs in STAGE_RESULTS.values() if rs for r in rs),
           description="screening: positive/negative; diagnosis: confirmed/ruled_out; otherwise empty."),
    Column("site", "str", description="Site where the stage took place."),
    Column("billed_cost", "float", min_value=0, description="Claims cost billed for this event, USD."),
    Column("next_appointment_date", "date", nullable=True,
           description="Appointment for the next stage booked at this event (empty when no next stage is "
                       "indicated). May lie after the as-of date."),
)

TABLES = {"patients": PATIENT_COLUMNS, "events": EVENT_COLUMNS}

# Ground truth: written by the generator only, kept apart from the features.
GROUND_TRUTH_COLUMNS = (
    Column("patient_id", "str"),
    Column("decision_stage", "str", allowed=("diagnosis", "treatment", "follow_up"),
           description="The stage the patient is awaiting at this decision point."),
    Column("decision_date", "date"),
    Column("true_dropout_probability", "float", min_value=0, max_value=1,
           description="P(drop out before completing the pathway | what is observable at the decision point)."),
    Column("will_drop_out", "bool", description="Realised outcome in the full (uncensored) simulation."),
)
