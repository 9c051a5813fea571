"""Pure figure builders: small data frames in, plotly figures out (no Dash imports)."""
from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go

BRAND = "#1f6f8b"
COMPLETED_COLOUR = "#2a9d8f"
EXITED_COLOUR = "#8d99a6"
DROPPED_OUT_COLOUR = "#d1495b"
IN_PROGRESS_COLOUR = "#e9a23b"
# Journey status -> colour, the same on every figure (and in assets/carepath.css).
STATUS_COLOURS = {
    "completed": COMPLETED_COLOUR,
    "exited": EXITED_COLOUR,
    "dropped_out": DROPPED_OUT_COLOUR,
    "in_progress": IN_PROGRESS_COLOUR,
}
INNER_LINK_COLOUR = "rgba(31, 111, 139, 0.25)"
MARGINS = dict(l=10, r=10, t=30, b=10)


TEMPLATE = "plotly_white"
# The template as plotly validates it, serialised once. Assigning it by name validates and
# deep-copies its ~7 kB tree on every figure (9-15 ms each, 2-4 figures per filter change);
# a fresh copy of the already validated tree set without validation gives the same JSON in ~1 ms.
_TEMPLATE_JSON = json.dumps(go.Figure().update_layout(template=TEMPLATE).to_plotly_json()["layout"]["template"])


def _set_template(fig: go.Figure) -> None:
    layout = fig.layout
    layout._validate = False
    try:
        layout["template"] = json.loads(_TEMPLATE_JSON)  # a copy per figure: a figure may be edited later
    finally:
        layout._validate = True


def prevalidated_figure(traces: list[dict], layout: dict) -> go.Figure:
    """A figure from trace and layout dicts already in the form plotly's validation leaves them
    (a trace: its properties in plotly's order, which is alphabetical, nested ones too, then
    ``type``, then ``xaxis`` and ``yaxis``; a layout: a validated figure's, as to_plotly_json
    gives it), set as they are. Validation checks data arrays element by element: 20-25 ms for
    the few thousand points of the Journeys curves. The figure and its JSON are the same as
    plotly's own construction (tests/app/test_incidence_figures.py), without its subplot grid
    (``row=``/``col=`` arguments); later edits are validated as usual."""
    axes = ("xaxis", "yaxis")
    fig = go.Figure(data=[{k: v for k, v in trace.items() if k not in axes} for trace in traces], _validate=False)
    # The axes come after ``type`` in a validated trace (add_trace sets them); a trace built
    # from a dict would place them alphabetically, so they are set afterwards.
    for trace, given in zip(fig.data, traces):
        for key in axes:
            if key in given:
                trace[key] = given[key]
        trace._validate = True
    fig.layout._validate = False
    for key, value in layout.items():
        fig.layout[key] = value
    fig.layout._validate = True
    # Subplot axes (xaxis2, ...) are validated whatever the flag, which re-orders their
    # properties alphabetically; the given ones, in plotly's order as built, replace them.
    fig._layout.update(layout)
    fig._validate = True
    return fig


def _base_layout(fig: go.Figure, title: str | None = None) -> go.Figure:
    _set_template(fig)
    fig.update_layout(
        margin=MARGINS,
        title=dict(text=title, x=0, xanchor="left") if title else None,
        font=dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=13),
    )
    return fig


def empty_figure(message: str) -> go.Figure:
    """A figure that says why there is nothing to plot, instead of empty axes."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper",
                       showarrow=False, font=dict(size=15, color="#6c757d"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base_layout(fig)


def funnel_figure(funnel: pd.DataFrame) -> go.Figure:
    """Stage funnel from ``data.cohorts.funnel_counts``: bar per step, with the
    conversion from the previous step beside its denominator ("66% of 1,870"), and the
    drop-off (and what it means) on hover."""
    previous = [None, *funnel["patients"].tolist()[:-1]]
    conversion = [
        "" if pd.isna(c) else f"{c:.0%} of {p:,}" for c, p in zip(funnel["conversion"], previous)
    ]
    fig = go.Figure(go.Funnel(
        # Plain lists: a handful of values reads better in the JSON than base64 arrays.
        y=funnel["label"].tolist(),
        x=funnel["patients"].tolist(),
        text=[f"{n:,}" + (f" · {c}" if c else "") for n, c in zip(funnel["patients"], conversion)],
        textinfo="text",
        customdata=list(zip(funnel["drop_off"], funnel["drop_off_meaning"])),
        hovertemplate=("<b>%{y}</b><br>%{x:,} patients<br>"
                       "Drop-off from previous step: %{customdata[0]:,}<br>%{customdata[1]}<extra></extra>"),
        marker=dict(color=BRAND),
        connector=dict(line=dict(color="#ced4da")),
    ))
    return _base_layout(fig)


def trend_figure(trend: pd.DataFrame) -> go.Figure:
    """Monthly enrollments (bars, top panel) and pathway completions (line, bottom panel, its
    own scale) from ``data.cohorts.monthly_trend``. On one axis the completions (tens a
    month) lay flat under enrollments in the thousands."""
    fig = go.Figure()
    fig.add_bar(x=trend["month"], y=trend["enrolled"], name="Enrolled", marker_color=BRAND, yaxis="y",
                hovertemplate="%{x|%b %Y}: %{y:,} enrolled<extra></extra>")
    fig.add_scatter(x=trend["month"], y=trend["completed"], name="Completed pathway", yaxis="y2",
                    mode="lines+markers", line=dict(color=COMPLETED_COLOUR, width=3),
                    hovertemplate="%{x|%b %Y}: %{y:,} completed<extra></extra>")
    # Two panels on one date axis (set by hand: make_subplots costs ~30 ms per filter change).
    fig.update_layout(
        showlegend=False, hovermode="x unified",
        xaxis=dict(anchor="y2"),
        yaxis=dict(domain=[0.55, 1.0], title_text="Enrolled", rangemode="tozero", automargin=True),
        yaxis2=dict(domain=[0.0, 0.45], title_text="Completed", rangemode="tozero", automargin=True),
    )
    return _base_layout(fig)


def _translucent(hex_colour: str, alpha: float = 0.35) -> str:
    red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


# The Sankey is drawn at a fixed height (the page's stylesheet gives its graph the same
# height: .figure--sankey in assets/carepath.css), so node sizes and label rows are known here.
SANKEY_HEIGHT = 560
SANKEY_MARGINS = dict(l=10, r=10, t=34, b=10)  # the top margin keeps the mode bar off the top labels
SANKEY_NODE_PAD = 18  # px between nodes of one column: more than one label row
SANKEY_THICKNESS = 16
SANKEY_FONT_SIZE = 11
# Columns sit between these x positions (fractions of the plot width); the right-most leaves
# room for its labels, which are drawn to the right of every node like the others.
SANKEY_X_RANGE = (0.008, 0.84)
# Label geometry assumed when wrapping: the narrowest plot width the page is laid out for
# (the plot is about 1,110 px wide at 1440×900) and a generous average character width.
SANKEY_ASSUMED_WIDTH_PX = 1000
LABEL_CHAR_PX = 6.8
LABEL_LINE_PX = 14
LABEL_OFFSET_PX = 4


def _sankey_depths(links: list[tuple[str, str]], nodes: list[str]) -> dict:
    """Column of each node: its distance from the first node (links arrive ordered by depth)."""
    depth = {nodes[0]: 0} if nodes else {}
    for source, target in links:
        depth[target] = max(depth.get(target, 0), depth.get(source, 0) + 1)
    return depth


def _wrap_label(text: str, chars: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=max(8, chars), break_long_words=False) or [text]


def _spread(centres: list[float], heights: list[float], top: float, bottom: float) -> list[float]:
    """Label centres moved as little as needed so that no two (of the given heights) overlap,
    all within [top, bottom]: pushed down in order, then back up from the bottom."""
    placed = []
    for centre, height in zip(centres, heights):
        lowest = top + height / 2 if not placed else placed[-1] + (heights[len(placed) - 1] + height) / 2 + 1
        placed.append(max(centre, lowest))
    for i in range(len(placed) - 1, -1, -1):
        highest = bottom - heights[i] / 2 if i == len(placed) - 1 else placed[i + 1] - (heights[i] + heights[i + 1]) / 2 - 1
        placed[i] = min(placed[i], highest)
    return placed


def sankey_node_layout(flows: pd.DataFrame, plot_height: float = SANKEY_HEIGHT - SANKEY_MARGINS["t"] -
                       SANKEY_MARGINS["b"]) -> pd.DataFrame:
    """Where each node of the Sankey goes, computed here rather than left to plotly, whose
    automatic layout puts thin late-stage nodes (and their labels) on top of each other.

    One column per depth; in each column the node that carries patients on comes first and
    the terminal branches follow below it, packed from the top with the node heights plotly
    will draw (d3-sankey's scale: the tightest column fills the plot height). Returns per node
    (in the figure's order): node, value, depth, x and y (centre, fractions of the plot, y from
    the top, as plotly's fixed arrangement takes them), the label lines and the label's centre
    (px from the top), spread so that no two labels of a column overlap."""
    flows = flows[flows["patients"] > 0]
    links = list(zip(flows["source"], flows["target"]))
    nodes = list(dict.fromkeys([*flows["source"], *flows["target"]]))
    inflow = flows.groupby("target")["patients"].sum()
    outflow = flows.groupby("source")["patients"].sum()
    value = {node: float(max(inflow.get(node, 0), outflow.get(node, 0))) for node in nodes}
    depth = _sankey_depths(links, nodes)
    last = max(depth.values(), default=0)
    columns: dict[int, list[str]] = {}
    for node in nodes:
        columns.setdefault(depth[node], []).append(node)
    continuing = set(flows["source"])
    for column in columns.values():  # the node patients continue from first, then terminals in pathway order
        column.sort(key=lambda node: node not in continuing)
    most = max((len(c) for c in columns.values()), default=1)
    pad = min(SANKEY_NODE_PAD, plot_height / max(1, most - 1))
    scale = min(((plot_height - (len(c) - 1) * pad) / sum(value[n] for n in c)) for c in columns.values()) \
        if columns else 0.0
    x_left, x_right = SANKEY_X_RANGE
    step = (x_right - x_left) / last if last else 0.0
    label_px = (step * SANKEY_ASSUMED_WIDTH_PX if last else SANKEY_ASSUMED_WIDTH_PX * (1 - x_right)) \
        - SANKEY_THICKNESS / 2 - LABEL_OFFSET_PX - 6
    chars = int(label_px // LABEL_CHAR_PX)
    rows = {}
    for column_depth, column in columns.items():
        top = 0.0
        centres, heights, lines = [], [], []
        for node in column:
            height = value[node] * scale
            centre = top + height / 2
            top += height + pad
            label = _wrap_label(f"{node} · {int(value[node]):,}", chars)
            centres.append(centre)
            lines.append(label)
            heights.append(len(label) * LABEL_LINE_PX)
        label_centres = _spread(centres, heights, 0.0, plot_height)
        for node, centre, label, label_centre in zip(column, centres, lines, label_centres):
            # Plotly ignores a position of exactly 0, so nothing sits on the very edge.
            rows[node] = {"node": node, "value": value[node], "depth": column_depth,
                          "x": max(1e-3, x_left + column_depth * step),
                          "y": min(max(1e-3, centre / plot_height), 1 - 1e-3),
                          "label_lines": label, "label_y_px": label_centre}
    return pd.DataFrame([rows[node] for node in nodes],
                        columns=["node", "value", "depth", "x", "y", "label_lines", "label_y_px"])


def sankey_figure(flows: pd.DataFrame) -> go.Figure:
    """Pathway Sankey from ``data.cohorts.sankey_flows``. Terminal nodes (and the links
    into them) take their status colour; links without patients are left out.

    Node positions are fixed (``sankey_node_layout``) and the labels are annotations beside
    the nodes: plotly's own labels of thin late-stage nodes overlap, and the last column's
    would run leftwards into the one before it."""
    flows = flows[flows["patients"] > 0]
    layout = sankey_node_layout(flows)
    nodes = layout["node"].tolist()
    index = {node: i for i, node in enumerate(nodes)}
    # Inner nodes have no status (None, or NaN once pandas stores the column as strings).
    terminal_status = {target: status for target, status in zip(flows["target"], flows["target_status"])
                       if status in STATUS_COLOURS}
    node_colours = [STATUS_COLOURS.get(terminal_status.get(node), BRAND) for node in nodes]
    link_colours = [_translucent(STATUS_COLOURS[status]) if status in STATUS_COLOURS else INNER_LINK_COLOUR
                    for status in flows["target_status"]]
    fig = go.Figure(go.Sankey(
        arrangement="fixed",
        node=dict(label=[""] * len(nodes), x=layout["x"].tolist(), y=layout["y"].tolist(), color=node_colours,
                  pad=SANKEY_NODE_PAD, thickness=SANKEY_THICKNESS, line=dict(width=0), customdata=nodes,
                  hovertemplate="<b>%{customdata}</b><br>%{value:,} patients<extra></extra>"),
        link=dict(source=[index[s] for s in flows["source"]], target=[index[t] for t in flows["target"]],
                  value=flows["patients"].tolist(), color=link_colours,
                  hovertemplate="%{source.customdata} → %{target.customdata}<br>%{value:,} patients<extra></extra>"),
        valueformat=",d",
        textfont=dict(size=SANKEY_FONT_SIZE),
    ))
    plot_height = SANKEY_HEIGHT - SANKEY_MARGINS["t"] - SANKEY_MARGINS["b"]
    fig = _base_layout(fig)
    # One update with every label: add_annotation one by one validates each and costs ~100 ms.
    fig.update_layout(height=SANKEY_HEIGHT, margin=SANKEY_MARGINS, annotations=[
        {"text": "<br>".join(row.label_lines), "x": row.x, "y": 1 - row.label_y_px / plot_height, "xref": "paper",
         "yref": "paper", "xanchor": "left", "yanchor": "middle", "xshift": SANKEY_THICKNESS / 2 + LABEL_OFFSET_PX,
         "showarrow": False, "align": "left", "font": {"size": SANKEY_FONT_SIZE, "color": "#212529"},
         "bgcolor": "rgba(255, 255, 255, 0.7)", "borderpad": 0, "name": "sankey-node-label"}
        for row in layout.itertuples()])
    return fig


def durations_figure(durations: pd.DataFrame) -> go.Figure:
    """Days between stages from ``data.cohorts.stage_durations``: one box per step from
    precomputed quantiles (box p25-p75, line at the median, whiskers p5-p95), so no
    patient-level values travel to the browser."""
    steps = durations[durations["n"] > 0].iloc[::-1]  # first step on top
    fig = go.Figure(go.Box(
        y=steps["label"].tolist(), orientation="h",
        q1=steps["p25"].tolist(), median=steps["median"].tolist(), q3=steps["p75"].tolist(),
        lowerfence=steps["p05"].tolist(), upperfence=steps["p95"].tolist(),
        marker_color=BRAND, fillcolor=_translucent(BRAND, 0.25), name="Days", showlegend=False,
        hoverinfo="x+y",
    ))
    # Two short lines and automargin: the one-line title was wider than the plot and cut off.
    fig.update_xaxes(title_text="Days<br><span style='font-size:11px'>box: IQR · line: median · whiskers: "
                                "5th–95th percentile</span>", rangemode="tozero", automargin=True)
    fig.update_yaxes(automargin=True)
    return _base_layout(fig)


# Model page: ROC, calibration and permutation importance ------------------------------------------

# One colour per model, by drawing order (callers draw the shown model first, so it takes the brand colour).
MODEL_PALETTE = (BRAND, "#e76f51", "#6a4c93")
REFERENCE_LINE = dict(color="#adb5bd", dash="dash", width=1.5)
# Room on the right for the "100%" tick label, which plotly hides when it would overflow.
UNIT_MARGINS = dict(MARGINS, r=30)


def model_colour(position: int) -> str:
    return MODEL_PALETTE[position % len(MODEL_PALETTE)]


def _unit_axes(fig: go.Figure, x_title: str, y_title: str) -> None:
    # A little padding so the curves' end points at 0 and 1 are not clipped by the frame.
    fig.update_xaxes(title_text=x_title, range=[-0.02, 1.02], dtick=0.2, tickformat=".0%", zeroline=False)
    fig.update_yaxes(title_text=y_title, range=[-0.02, 1.02], dtick=0.2, tickformat=".0%", zeroline=False)


def roc_figure(curves: dict) -> go.Figure:
    """ROC curves from ``{legend name: {"fpr": [...], "tpr": [...]}}`` (one trace per entry,
    in order), plus the diagonal a random score would trace."""
    fig = go.Figure()
    for position, (name, curve) in enumerate(curves.items()):
        fig.add_scatter(x=list(curve["fpr"]), y=list(curve["tpr"]), mode="lines", name=name,
                        line=dict(color=model_colour(position), width=2.5),
                        hovertemplate=("<b>%{fullData.name}</b><br>False-positive rate %{x:.1%}"
                                       "<br>True-positive rate %{y:.1%}<extra></extra>"))
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="Chance (AUC 0.5)", line=REFERENCE_LINE,
                    hoverinfo="skip")
    _unit_axes(fig, "False-positive rate (1 − specificity)", "True-positive rate (sensitivity)")
    fig = _base_layout(fig)
    fig.update_layout(margin=UNIT_MARGINS, legend=dict(x=0.98, y=0.02, xanchor="right", yanchor="bottom",
                                                       bgcolor="rgba(255, 255, 255, 0.85)"))
    return fig


def calibration_figure(curves: dict) -> go.Figure:
    """Observed dropout rate against mean predicted risk per bin, from
    ``{legend name: {"predicted": [...], "observed": [...], "rows": [...]}}``, plus the
    ideal line where predicted equals observed."""
    fig = go.Figure()
    for position, (name, curve) in enumerate(curves.items()):
        fig.add_scatter(x=list(curve["predicted"]), y=list(curve["observed"]), mode="lines+markers", name=name,
                        line=dict(color=model_colour(position), width=2), marker=dict(size=8),
                        customdata=list(curve.get("rows", [])) or None,
                        hovertemplate=("<b>%{fullData.name}</b><br>Mean predicted %{x:.1%}"
                                       "<br>Observed %{y:.1%}"
                                       + ("<br>%{customdata:,} rows" if curve.get("rows") else "")
                                       + "<extra></extra>"))
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="Perfect calibration", line=REFERENCE_LINE,
                    hoverinfo="skip")
    _unit_axes(fig, "Mean predicted risk (bin of equal size)", "Observed dropout rate")
    fig = _base_layout(fig)
    fig.update_layout(margin=UNIT_MARGINS, legend=dict(x=0.02, y=0.98, xanchor="left", yanchor="top",
                                                       bgcolor="rgba(255, 255, 255, 0.85)"))
    return fig


def importance_figure(importance: list[dict], labels: dict | None = None, top: int = 12,
                      colour: str = BRAND) -> go.Figure:
    """Permutation importance (``[{"feature", "auc_drop"}]``) as horizontal bars: the
    ``top`` largest drops in held-out ROC-AUC, the largest on top, with readable labels."""
    labels = labels or {}
    ranked = sorted(importance, key=lambda row: row["auc_drop"], reverse=True)[:top][::-1]
    fig = go.Figure(go.Bar(
        x=[row["auc_drop"] for row in ranked],
        y=[labels.get(row["feature"], row["feature"]) for row in ranked],
        orientation="h", marker_color=colour,
        text=[f"{row['auc_drop']:.3f}" for row in ranked], textposition="outside", cliponaxis=False,
        hovertemplate="<b>%{y}</b><br>ROC-AUC drops by %{x:.3f} when shuffled<extra></extra>",
    ))
    drops = [row["auc_drop"] for row in ranked] or [0.0]
    # Head-room on the right for the value printed beyond the longest bar.
    fig.update_xaxes(title_text="Drop in held-out ROC-AUC",
                     range=[min(0.0, min(drops)) * 1.25, max(max(drops), 1e-3) * 1.2])
    fig.update_yaxes(automargin=True)
    return _base_layout(fig)


# --- Worklist / Patient ----------------------------------------------------------

RISK_UP_COLOUR = DROPPED_OUT_COLOUR
TIMELINE_HEIGHT = 330  # px; the page gives its graph the same height
RISK_DOWN_COLOUR = COMPLETED_COLOUR
AS_OF_COLOUR = "#495057"


def _points_text(delta: float) -> str:
    return f"{delta * 100:+.1f} pts".replace("-", "−")


def risk_drivers_figure(drivers: pd.DataFrame, reference_risk: float, risk: float) -> go.Figure:
    """Waterfall from a typical patient's risk to this patient's: one bar per driver
    (``drivers``: label, contribution in probability units; the last row may be the
    remaining features lumped together), red pushing risk up, green pulling it down."""
    labels = ["Typical patient", *drivers["label"], "This patient"]
    values = [reference_risk, *drivers["contribution"], risk]
    measures = ["absolute", *(["relative"] * len(drivers)), "total"]
    text = [f"{reference_risk:.0%}", *(_points_text(v) for v in drivers["contribution"]), f"{risk:.0%}"]
    fig = go.Figure(go.Waterfall(
        orientation="h", y=labels, x=values, measure=measures, text=text, textposition="outside",
        increasing=dict(marker=dict(color=RISK_UP_COLOUR)),
        decreasing=dict(marker=dict(color=RISK_DOWN_COLOUR)),
        totals=dict(marker=dict(color=BRAND)),
        connector=dict(line=dict(color="#ced4da", width=1)),
        hovertemplate="%{y}: %{text}<extra></extra>", cliponaxis=False,
    ))
    # Room for the "+12.7 pts" labels outside the bars: on the right of the furthest bar end, and
    # on the left of a bar that pulls the risk down close to 0 (its label sits left of its end).
    running = reference_risk + drivers["contribution"].cumsum()
    ends = [reference_risk, risk, *running]
    top = max(reference_risk, risk, running.max() if len(running) else risk)
    lowest = min(ends)
    left = -0.12 if (drivers["contribution"] < 0).any() and lowest < 0.12 else 0.0
    fig.update_xaxes(title_text="Risk of dropping out", tickformat=".0%",
                     range=[min(left, lowest - 0.12) if lowest < 0 else left, min(1.0, top) + 0.14],
                     tickvals=[0, 0.25, 0.5, 0.75, 1.0], automargin=True)
    # First bar on top: the chart reads from the typical patient down to this one.
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_layout(showlegend=False, height=max(300, 34 * len(labels) + 80))
    fig = _base_layout(fig)
    # Labels drawn outside the plot (cliponaxis off) still need a margin wide enough to show them.
    fig.update_layout(margin=dict(MARGINS, r=56, l=10))
    return fig


def _iso(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _date_marker_line(fig: go.Figure, date, label: str, colour: str, dash: str, side: str,
                      label_row: int = 0) -> None:
    """A vertical line across the plot at ``date``, labelled inside the plot on one ``side``
    of it; labels of nearby lines go on different rows (shapes, not add_vline, whose
    annotations fail on date axes in some plotly versions)."""
    fig.add_shape(type="line", xref="x", yref="paper", x0=_iso(date), x1=_iso(date), y0=0, y1=1,
                  line=dict(color=colour, width=1.5, dash=dash))
    fig.add_annotation(x=_iso(date), y=1, xref="x", yref="paper", text=label, showarrow=False,
                       xanchor="left" if side == "right" else "right", yanchor="top",
                       xshift=4 if side == "right" else -4, yshift=-18 * label_row,
                       bgcolor="rgba(255, 255, 255, 0.85)", font=dict(size=11, color=colour))


def journey_timeline_figure(stage_rows: list[str], events: pd.DataFrame, as_of,
                            booked: dict | None = None, window_closes: dict | None = None) -> go.Figure:
    """One patient's journey: a row per pathway step (``stage_rows``, top to bottom) with
    a dot per event (``events``: row, date, detail), the booked next appointment (``booked``:
    row, date, detail), the date the awaited step's window closes and the as-of date."""
    fig = go.Figure()
    fig.add_scatter(
        x=[_iso(d) for d in events["date"]], y=events["row"].tolist(), mode="lines+markers",
        name="Happened", marker=dict(size=13, color=BRAND), line=dict(color=_translucent(BRAND, 0.5), width=2),
        customdata=events["detail"].tolist(), hovertemplate="%{customdata}<extra></extra>",
    )
    if booked is not None:
        colour = DROPPED_OUT_COLOUR if booked.get("passed") else IN_PROGRESS_COLOUR
        fig.add_scatter(
            x=[_iso(booked["date"])], y=[booked["row"]], mode="markers", name=booked.get("name", "Booked"),
            marker=dict(size=15, color="white", line=dict(color=colour, width=3)),
            customdata=[booked["detail"]], hovertemplate="%{customdata}<extra></extra>",
        )
    if window_closes is not None:
        # An open window closes after the as-of date (label to its right), a missed one before
        # (label to its left, a row lower if it is close enough to run into the as-of label).
        closes, as_of_day = pd.Timestamp(window_closes["date"]), pd.Timestamp(as_of)
        window_side = "right" if closes >= as_of_day else "left"
        near = window_side == "left" and (as_of_day - closes).days < 90
        _date_marker_line(fig, closes, window_closes["label"], DROPPED_OUT_COLOUR, "dot", window_side,
                          label_row=1 if near else 0)
    # The as-of date is the latest date shown: its label goes to its left.
    _date_marker_line(fig, as_of, f"Data as of {pd.Timestamp(as_of):%d %b %Y}", AS_OF_COLOUR, "dash", "left")
    fig.update_yaxes(categoryorder="array", categoryarray=stage_rows, range=[len(stage_rows) - 0.5, -0.5],
                     automargin=True)
    fig.update_xaxes(type="date")
    fig.update_layout(height=TIMELINE_HEIGHT, legend=dict(orientation="h", yanchor="top", y=-0.12, x=0))
    # A top margin for the mode bar, clear of the date lines' labels.
    return _base_layout(fig).update_layout(margin=dict(l=10, r=20, t=36, b=10))


BASELINE_COLOUR = "#adb5bd"


def scenario_funnel_figure(funnel: pd.DataFrame) -> go.Figure:
    """Baseline vs scenario funnel from ``ml.scenarios.engine`` (``funnel``, or ``arithmetic_detail.funnel``): expected
    patients at each step, grouped bars, the scenario's change from baseline on hover."""
    change = (funnel["scenario"] - funnel["baseline"]).tolist()
    fig = go.Figure()
    fig.add_bar(x=funnel["step"].tolist(), y=funnel["baseline"].tolist(), name="Baseline",
                marker_color=BASELINE_COLOUR, text=[f"{v:,.0f}" for v in funnel["baseline"]], textposition="outside",
                hovertemplate="<b>%{x}</b><br>Baseline: %{y:,.0f} patients<extra></extra>")
    fig.add_bar(x=funnel["step"].tolist(), y=funnel["scenario"].tolist(), name="Scenario",
                marker_color=BRAND, text=[f"{v:,.0f}" for v in funnel["scenario"]], textposition="outside",
                customdata=change,
                hovertemplate="<b>%{x}</b><br>Scenario: %{y:,.0f} patients (%{customdata:+,.0f})<extra></extra>")
    fig.update_layout(barmode="group", bargap=0.25, legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    fig.update_yaxes(title_text="Expected patients", rangemode="tozero")
    fig.update_traces(cliponaxis=False)
    return _base_layout(fig)
