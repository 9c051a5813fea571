"""Every Dash component id in the app, defined once so no id string is typed twice.

Layouts, callbacks and browser tests all import from here.
"""
from data.pathway import DECISION_STAGES


# App shell
URL = "url"
COHORT_QUERY = "cohort-query"  # dcc.Store: the canonical query string of the cohort filter
URL_WRITTEN = "url-written"  # dcc.Store: dummy output of the clientside URL writer
URL_NOTICE = "url-notice"  # names the URL parameters a link carried that were ignored
# "How these numbers relate" (components/reconciliation.py), on the Overview, Pathways and Scenarios pages
RECONCILE_BUTTON = "reconcile-button"
RECONCILE_MODAL = "reconcile-modal"
RECONCILE_BODY = "reconcile-body"
NAVBAR = "navbar"

# Navigation links, keyed by page path.
NAV_LINKS = {
    "/": "nav-overview",
    "/pathways": "nav-pathways",
    "/model": "nav-model",
    "/worklist": "nav-worklist",
    "/patient": "nav-patient",
    "/scenarios": "nav-scenarios",
    "/journeys": "nav-journeys",
    "/quality": "nav-quality",
}

# Cohort filter panel
FILTER_PANEL = "filter-panel"
FILTER_PROGRAM = "filter-program"
FILTER_AGE = "filter-age"
FILTER_SEX = "filter-sex"
FILTER_RACE_ETHNICITY = "filter-race-ethnicity"
FILTER_PAYER = "filter-payer"
FILTER_REGION = "filter-region"
FILTER_SITE = "filter-site"
FILTER_ENROLLMENT = "filter-enrollment"
FILTER_RISK_TIER = "filter-risk-tier"
FILTER_RESET = "filter-reset"
# The chart selection (a journey variant, a Sankey node) kept beside the panel's controls.
FILTER_SELECTION = "filter-selection"  # dcc.Store: {"variant": key, "node": slug}
FILTER_CHIPS = "filter-chips"  # the selection's removable chips
FILTER_CHIP_REMOVE = "filter-chip-remove"  # pattern-matching type: {"type": ..., "key": "variant" | "node"}

# Overview page
OVERVIEW_MESSAGE = "overview-message"
KPI_PATIENTS = "kpi-patients"
KPI_SCREENING_UPTAKE = "kpi-screening-uptake"
KPI_COMPLETION_RATE = "kpi-completion-rate"
KPI_DROPOUT_RATE = "kpi-dropout-rate"
KPI_MEDIAN_DAYS_TO_TREATMENT = "kpi-median-days-to-treatment"
KPI_IN_PROGRESS = "kpi-in-progress"
KPI_HIGH_RISK = "kpi-high-risk"
FUNNEL_GRAPH = "funnel-graph"
FUNNEL_TABLE = "funnel-table"
TREND_GRAPH = "trend-graph"

# Pathways page
PATHWAYS_MESSAGE = "pathways-message"
BOTTLENECK_TEXT = "bottleneck-text"
SANKEY_GRAPH = "sankey-graph"
DURATIONS_GRAPH = "durations-graph"
DURATIONS_TABLE = "durations-table"
BREAKDOWN_SITE_GRID = "breakdown-site-grid"
BREAKDOWN_PAYER_GRID = "breakdown-payer-grid"
# The cards around the breakdowns: hidden when the data has one value (or none) of the attribute.
BREAKDOWN_SITE_CARD = "breakdown-site-card"
BREAKDOWN_PAYER_CARD = "breakdown-payer-card"

# Model page
MODEL_MESSAGE = "model-message"
MODEL_HEADER = "model-header"
MODEL_COMPARISON = "model-comparison"
MODEL_ROC_GRAPH = "model-roc-graph"
MODEL_CALIBRATION_GRAPH = "model-calibration-graph"
MODEL_CALIBRATION_CAPTION = "model-calibration-caption"  # which outcomes the calibration is measured against
# Permutation-importance bars, one graph per model, keyed by model name (ml.risk.models.MODEL_NAMES).
MODEL_IMPORTANCE_GRAPHS = {
    "gradient_boosting": "model-importance-gradient-boosting",
    "logistic_regression": "model-importance-logistic-regression",
}
MODEL_COEFFICIENTS = "model-coefficients"
MODEL_FEATURES = "model-features"  # features used and those left out, with the reason
MODEL_SUBGROUP_SKIPPED = "model-subgroup-skipped"  # audit attributes with fewer than two values
MODEL_SUBGROUP_MODEL = "model-subgroup-model"  # radio: whose subgroup metrics the grid shows
MODEL_SUBGROUP_GRID = "model-subgroup-grid"
MODEL_HEADLINE = "model-headline"  # decision-day ROC-AUC beside the oracle's
MODEL_HORIZON = "model-horizon"  # ROC-AUC by landmark and by stage
MODEL_CALIBRATION_SET = "model-calibration-set"  # CITL, slope, ICI, E50/E90/Emax, vs truth
MODEL_DECISION_CURVE_GRAPH = "model-decision-curve-graph"
MODEL_CAPACITY = "model-capacity"  # top N per week: dropouts reached, calls per dropout
MODEL_MONITORING = "model-monitoring"  # drift status and label-free estimates
MODEL_MONITORING_GRAPH = "model-monitoring-graph"  # calibration and AUC by month of decision

# Worklist / Patient
WORKLIST_MESSAGE = "worklist-message"
WORKLIST_CAPACITY = "worklist-capacity"  # dropdown: how many patients the coordinator can call
WORKLIST_SORT = "worklist-sort"  # radio: rank by expected gain, risk or deadline
WORKLIST_URL_WRITTEN = "worklist-url-written"  # dcc.Store: dummy output of the clientside URL writer
WORKLIST_SHOW_CALLED = "worklist-show-called"  # switch: also list patients already called today
WORKLIST_REFRESH = "worklist-refresh"  # dcc.Store: bumped after a call is recorded, so the list re-reads the log
OUTREACH_PATIENT = "outreach-patient"  # the selected patient, in words
OUTREACH_COORDINATOR = "outreach-coordinator"
OUTREACH_DISPOSITION = "outreach-disposition"
OUTREACH_NOTE = "outreach-note"
OUTREACH_DUE = "outreach-due"
OUTREACH_SAVE = "outreach-save"
OUTREACH_ASSIGN = "outreach-assign"
OUTREACH_FEEDBACK = "outreach-feedback"
OUTREACH_REQUEST_KEY = "outreach-request-key"  # store: the key of the call being entered (a double click saves it once)
TEAM_SUMMARY_GRID = "team-summary-grid"
WORKLIST_SUMMARY = "worklist-summary"
WORKLIST_GRID = "worklist-grid"
WORKLIST_EXPORT_BUTTON = "worklist-export-button"
WORKLIST_DOWNLOAD = "worklist-download"  # dcc.Download of the rows the grid shows
# The export is a background job rebuilding the rows on the server: its status and cancel button.
WORKLIST_EXPORT_RUNNING = "worklist-export-running"
WORKLIST_EXPORT_CANCEL = "worklist-export-cancel"
WORKLIST_EXPORT_NOTE = "worklist-export-note"  # why a click gave no file (nothing shown, bad input)
WORKLIST_FILTERED_IDS = "worklist-filtered-ids"  # dcc.Store: ids the grid shows, only while its filters hide rows
PATIENT_SEARCH = "patient-search"  # patient id input (filled from the URL's ?id=)
PATIENT_OPEN = "patient-open"
PATIENT_MESSAGE = "patient-message"
PATIENT_HEADER = "patient-header"
PATIENT_RISK = "patient-risk"
PATIENT_DRIVERS_GRAPH = "patient-drivers-graph"
PATIENT_DRIVERS_LIST = "patient-drivers-list"
PATIENT_TIMELINE_GRAPH = "patient-timeline-graph"
PATIENT_ATTRIBUTES = "patient-attributes"
PATIENT_DETAILS = "patient-details"  # wrapper hidden until a patient is open
PATIENT_URL_WRITTEN = "patient-url-written"  # dcc.Store: dummy output of the ?id= URL keeper
WORKLIST_BODY = "worklist-body"  # wrapper of the capacity, summary and grid; hidden when nobody is listed

# Scenarios page
SCENARIO_MESSAGE = "scenario-message"
SCENARIO_BODY = "scenario-body"  # wrapper of the results; hidden when there is nothing to project
SCENARIO_PRESET = "scenario-preset"  # pattern-matching type of the preset buttons: {"type": ..., "preset": name}
SCENARIO_SCREENING = "scenario-screening"  # slider: + percentage points of screening uptake
# Per booked stage (data.pathway.DECISION_STAGES) sliders, keyed by stage.
SCENARIO_ATTENDANCE = {stage: f"scenario-attendance-{stage.replace('_', '-')}" for stage in DECISION_STAGES}
SCENARIO_WAIT_CUT = {stage: f"scenario-wait-cut-{stage.replace('_', '-')}" for stage in DECISION_STAGES}
SCENARIO_OUTREACH_TOP = "scenario-outreach-top"  # slider: % of in-progress patients contacted, highest risk first
SCENARIO_OUTREACH_EFFECT = "scenario-outreach-effect"  # slider: % of a contacted patient's dropout risk removed
SCENARIO_COST_PER_CONTACT = "scenario-cost-per-contact"  # number input, USD
SCENARIO_STATE = "scenario-state"  # dcc.Store: the levers and cohort of the projection shown (for the truth check)
SCENARIO_SUMMARY = "scenario-summary"
SCENARIO_KPI_BASELINE = "scenario-kpi-baseline"
SCENARIO_KPI_PROJECTED = "scenario-kpi-projected"
SCENARIO_KPI_RELATIVE = "scenario-kpi-relative"
SCENARIO_KPI_EXTRA = "scenario-kpi-extra"
SCENARIO_KPI_COST = "scenario-kpi-cost"
SCENARIO_KPI_COST_PER_EXTRA = "scenario-kpi-cost-per-extra"
SCENARIO_FLAGS = "scenario-flags"  # levers the risk model cannot project
SCENARIO_METHODS = "scenario-methods"  # model-based vs arithmetic table
SCENARIO_FUNNEL_GRAPH = "scenario-funnel-graph"
SCENARIO_TRUTH_BUTTON = "scenario-truth-button"
SCENARIO_TRUTH = "scenario-truth"
# The truth check runs as a background job: its progress (shown while it runs) and cancel button.
SCENARIO_TRUTH_RUNNING = "scenario-truth-running"
SCENARIO_TRUTH_PROGRESS = "scenario-truth-progress"
SCENARIO_TRUTH_CANCEL = "scenario-truth-cancel"

# Journeys page
JOURNEYS_MESSAGE = "journeys-message"
JOURNEYS_STAGE = "journeys-stage"  # dropdown: the decision point (stage awaited)
JOURNEYS_COMPARE_BY = "journeys-compare-by"  # radio: compare groups by site, payer, program or none
JOURNEYS_GROUPS = "journeys-groups"  # dropdown: up to three groups to compare
JOURNEYS_INCIDENCE_GRAPH = "journeys-incidence-graph"
JOURNEYS_RISK_TABLE = "journeys-risk-table"
JOURNEYS_VARIANTS_GRID = "journeys-variants-grid"
JOURNEYS_VARIANTS_NOTE = "journeys-variants-note"

# Quality page
QUALITY_MESSAGE = "quality-message"
QUALITY_MEASURE = "quality-measure"  # dropdown: program/measure
QUALITY_DEFINITION = "quality-definition"
QUALITY_SUMMARY = "quality-summary"
QUALITY_TREND_GRAPH = "quality-trend-graph"
QUALITY_SITE_TABLE = "quality-site-table"
QUALITY_GAP = "quality-gap"  # the numerator gap's patients (patient-level: gated by role)
# Admin audit report (app/pages/audit.py, callbacks/audit_report.py)
AUDIT_USER = "audit-user"
AUDIT_ACTION = "audit-action"
AUDIT_DATES = "audit-dates"
AUDIT_SUMMARY = "audit-summary"
AUDIT_GRID = "audit-grid"

# Models admin page (/admin/models): re-train on the current data in the background
ADMIN_MODELS_CURRENT = "admin-models-current"  # the models in use: key, trained when, on which data
ADMIN_RETRAIN_BUTTON = "admin-retrain-button"
ADMIN_RETRAIN_RUNNING = "admin-retrain-running"  # progress bar and cancel button, shown while the job runs
ADMIN_RETRAIN_PROGRESS = "admin-retrain-progress"
ADMIN_RETRAIN_CANCEL = "admin-retrain-cancel"
ADMIN_RETRAIN_RESULT = "admin-retrain-result"
