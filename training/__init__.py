"""Training and evaluating the scoring models, offline: ``firewarden model train``, ``firewarden evaluate``,
``firewarden replay``, ``make models``.

The one place besides the simulators' own commands that imports the simulators (simulated history
and runs are what the models learn from and are judged against) and scikit-learn (which fits them).
No running process imports this package: scoring loads the fitted parameters (:mod:`scoring.models`).

This module is the package's face: what the command line uses. The rest of the package is internal.
"""

from training.evaluation import Evaluation, judge, read_ground_truth, risk_auc, stored_decisions
from training.evaluation import plot as plot_evaluation
from training.evaluation import replay as replay_fleet
from training.evaluation import table as evaluation_table
from training.gauges import GaugeGrid, GaugeResult, gauge_targets
from training.gauges import cells as gauge_cells
from training.gauges import false_rates as gauge_false_rates
from training.gauges import plot as plot_gauges
from training.gauges import run as run_gauges
from training.gauges import write_cells as write_gauge_cells
from training.models import train_anomaly, train_risk, train_risk_from_db
from training.replay import accepted_records
from training.store import recorded_examples, stored_stream
from training.verification import Cell, Confusion, Grid, Result, Target, fmt_delay, pooled, targets, worst_cells
from training.verification import plot as plot_matrix
from training.verification import run as run_matrix
from training.verification import write_cells as write_matrix_cells
from training.whatif import Changed, compare
from training.whatif import Outcome as WhatIfOutcome
from training.whatif import Row as WhatIfRow
from training.whatif import replay as replay_policies

__all__ = [
    "Cell",
    "Changed",
    "Confusion",
    "Evaluation",
    "GaugeGrid",
    "GaugeResult",
    "Grid",
    "Result",
    "Target",
    "WhatIfOutcome",
    "WhatIfRow",
    "accepted_records",
    "compare",
    "evaluation_table",
    "fmt_delay",
    "gauge_cells",
    "gauge_false_rates",
    "gauge_targets",
    "judge",
    "plot_evaluation",
    "plot_gauges",
    "plot_matrix",
    "pooled",
    "read_ground_truth",
    "recorded_examples",
    "replay_fleet",
    "replay_policies",
    "risk_auc",
    "run_gauges",
    "run_matrix",
    "stored_decisions",
    "stored_stream",
    "targets",
    "train_anomaly",
    "train_risk",
    "train_risk_from_db",
    "worst_cells",
    "write_gauge_cells",
    "write_matrix_cells",
]
