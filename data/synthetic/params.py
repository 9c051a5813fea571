"""Parameters of the synthetic journey generator: the documented model behind the data.

Every number here is written into the dataset manifest.  docs/data.md explains the
model and the rationale for each marginal rate.  Scenario levers (`Levers`) change
a copy of these parameters for what-if re-simulation.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from data.schema import PROGRAMS

SITES = {
    # site: (region, wait-time multiplier).  Harbor is the capacity bottleneck.
    "Northgate": ("urban", 0.85),
    "Riverside": ("urban", 1.00),
    "Harbor": ("urban", 1.60),
    "Eastside": ("urban", 1.10),
    "Lakeview": ("suburban", 0.80),
    "Hillcrest": ("suburban", 0.95),
    "Westfield": ("suburban", 1.20),
    "Pinecrest": ("rural", 1.30),
    "Valley": ("rural", 1.05),
    "Prairie": ("rural", 1.45),
}


@dataclass(frozen=True)
class GeneratorParams:
    enrollment_months: int = 48
    program_mix: dict = field(default_factory=lambda: {"colorectal": 0.30, "diabetes": 0.45, "depression": 0.25})

    # Screening: logit of completing the screen within its window, and test positivity.
    screening_logit: dict = field(default_factory=lambda: {"colorectal": 0.85, "diabetes": 1.65, "depression": 2.45})
    screening_mean_days: dict = field(default_factory=lambda: {"colorectal": 45.0, "diabetes": 25.0, "depression": 14.0})
    positive_logit: dict = field(default_factory=lambda: {"colorectal": -2.15, "diabetes": -0.62, "depression": -1.10})
    confirmed_logit: dict = field(default_factory=lambda: {"colorectal": -0.20, "diabetes": 0.62, "depression": 0.85})

    # Booked lead time (days) from decision point to the next stage: lognormal with this
    # median (times the site's multiplier) and log-sd; capped so a rebooking still fits.
    lead_median_days: dict = field(default_factory=lambda: {
        "colorectal": {"diagnosis": 42.0, "treatment": 28.0, "follow_up": 90.0},
        "diabetes": {"diagnosis": 14.0, "treatment": 14.0, "follow_up": 75.0},
        "depression": {"diagnosis": 18.0, "treatment": 14.0, "follow_up": 42.0},
    })
    lead_log_sd: float = 0.55
    lead_min_days: int = 3
    rebook_room_days: int = 10

    # First-attempt attendance at a booked stage: logit intercept per program and stage.
    attend_logit: dict = field(default_factory=lambda: {
        "colorectal": {"diagnosis": 0.55, "treatment": 2.70, "follow_up": 2.60},
        "diabetes": {"diagnosis": 1.25, "treatment": 1.40, "follow_up": 2.10},
        "depression": {"diagnosis": 1.05, "treatment": 1.05, "follow_up": 1.60},
    })
    # Patient-level effects on attendance logits (all stages, incl. screening).
    age_u_shape: float = -0.45        # * ((age - 58) / 15) ** 2: young and very old attend less
    payer_effect: dict = field(default_factory=lambda: {
        "Commercial": 0.0, "Medicare": 0.05, "Medicaid": -0.45, "Uninsured": -0.75})
    adi_effect: float = -0.22         # per 25 ADI points above 50
    distance_effect: float = -0.30    # * log1p(distance_km / 10)
    no_show_effect: float = -0.32     # per prior no-show (capped at 5)
    portal_effect: float = 0.40
    non_english_effect: float = -0.30
    comorbidity_effect: float = 0.06  # per index point: sicker patients stay engaged
    oop_effect: float = -0.18         # * log1p(out_of_pocket / 250)
    site_effect: dict = field(default_factory=lambda: {
        "Northgate": 0.15, "Riverside": 0.0, "Harbor": -0.10, "Eastside": -0.05, "Lakeview": 0.20,
        "Hillcrest": 0.10, "Westfield": 0.0, "Pinecrest": -0.10, "Valley": 0.05, "Prairie": -0.15})
    # Time-based drivers at booked stages.
    # Waits up to these days cost nothing (follow-ups are booked months ahead by design) ...
    lead_free_days: dict = field(default_factory=lambda: {"diagnosis": 14.0, "treatment": 14.0, "follow_up": 60.0})
    lead_effect: float = -0.42        # ... then this per extra 14 days (a hinge: non-linear)
    lead_vulnerable_multiplier: float = 1.8  # interaction: Medicaid/Uninsured feel waits 1.8x as much
    slow_screen_effect: float = -0.35  # diagnosis only: * log1p(days enrollment->screen / 30)
    missed_previous_effect: float = -0.90  # missed the previous booked appointment in this pathway

    # After a missed first appointment: chance to rebook and attend within the window.
    rebook_logit: dict = field(default_factory=lambda: {"diagnosis": -0.40, "treatment": -0.10, "follow_up": -0.30})
    rebook_portal_effect: float = 0.50
    rebook_min_days: float = 7.0
    rebook_mean_extra_days: float = 21.0

    # Claims cost per event (USD): lognormal around this median.
    event_cost_median: dict = field(default_factory=lambda: {
        "colorectal": {"screening": 30.0, "diagnosis": 1250.0, "treatment": 6500.0, "follow_up": 320.0},
        "diabetes": {"screening": 45.0, "diagnosis": 140.0, "treatment": 900.0, "follow_up": 210.0},
        "depression": {"screening": 20.0, "diagnosis": 260.0, "treatment": 1450.0, "follow_up": 180.0},
    })
    event_cost_log_sd: float = 0.3

    # Outreach: what a navigator's call can change (docs/data.md, "Outreach").  A call is
    # one episode of up to `call_attempts` attempts `call_attempt_gap_days` apart.
    # Reach: the number on file works (a latent the log reveals as "wrong_number") ...
    phone_valid_logit: float = 2.2
    phone_valid_vulnerable_effect: float = -1.2   # Medicaid/uninsured: numbers change more often
    phone_valid_adi_effect: float = -0.25         # per 25 ADI points above 50
    # ... and each attempt reaches the patient with this logistic probability.
    reach_logit: float = 0.0
    reach_non_english_effect: float = -1.1         # no call in the patient's language on the first try
    reach_portal_effect: float = 0.55              # portal users answer / call back
    reach_no_show_effect: float = -0.30            # per prior no-show (capped at 5)
    call_attempts: int = 3
    call_attempt_gap_days: int = 2
    # Reached: the barrier is one the navigator can remove with these chances (independent).
    remove_wait_probability: float = 0.42          # booked wait beyond lead_free_days -> an earlier slot
    remove_cost_probability: float = 0.34          # cost/transport help: high out-of-pocket, far, Medicaid/uninsured
    remove_reminder_probability: float = 0.14      # otherwise a reminder and a confirmed slot only
    cost_barrier_out_of_pocket: float = 500.0
    cost_barrier_distance_km: float = 25.0
    # A navigated patient (reached, barrier removed, at least rebook_room_days left in the
    # window after the reaching attempt) is rebooked `navigated_lead_days` after the call
    # (or keeps an earlier booking) and attends with this probability.
    navigated_attend_probability: float = 0.85
    navigated_lead_days: int = 7
    voicemail_share: float = 0.6                   # an unanswered attempt leaves a message (else unreachable)
    # The historical pilot: weekly sweeps of patients waiting for a booked stage between
    # these months before the as-of date; each waiting patient is randomised once, at the
    # first sweep they are waiting in, to a call with probability pilot_random_share; of
    # the others, staff call pilot_staff_share of those still waiting
    # pilot_staff_overdue_days past their booked date (a judgement pick, not random).
    pilot_start_months_before: float = 18.0
    pilot_end_months_before: float = 6.0
    pilot_sweep_days: int = 7
    pilot_random_share: float = 0.30
    pilot_staff_share: float = 0.50
    pilot_staff_overdue_days: int = 14

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Levers:
    """What-if changes to the generator, applied to the same patients and random draws.

    Probability shifts are in absolute probability (0.05 = +5 percentage points) and
    act on the same uniform draw, so a patient who attended in the baseline still does.
    """
    screening_uptake_shift: float = 0.0
    attendance_shift: dict = field(default_factory=dict)        # stage -> +probability
    attendance_odds_ratio: dict = field(default_factory=dict)   # stage -> odds ratio
    lead_time_scale: dict = field(default_factory=dict)         # stage -> multiplier (0.7 = 30% shorter)
    lead_time_cut_days: dict = field(default_factory=dict)      # stage -> days removed
    # The old uniform lever, kept for the Scenarios engine: one draw per contacted patient
    # decides (with probability `effectiveness`) that they do not drop out at any stage
    # still open at the as-of date.
    outreach_patient_ids: frozenset = frozenset()
    outreach_effectiveness: float = 0.0  # relative cut in a contacted patient's dropout probability
    # Navigator calls under the call model: patient_id -> day of the call (an int is days
    # after the as-of date, 0 = the as-of date; or a date).  The call acts on the stage the
    # patient awaits that day, with its own draws (`call_draw_seed` redraws them).
    calls: dict = field(default_factory=dict)
    call_draw_seed: int | None = None
    pilot: bool = True  # the historical pilot programme (False: the history without it)

    def is_baseline(self) -> bool:
        return self == Levers()


def validate_params(params: GeneratorParams) -> None:
    if abs(sum(params.program_mix.values()) - 1) > 1e-9 or set(params.program_mix) != set(PROGRAMS):
        raise ValueError("program_mix must give a share for every program and sum to 1")


def with_changes(params: GeneratorParams, **changes) -> GeneratorParams:
    return replace(params, **changes)
