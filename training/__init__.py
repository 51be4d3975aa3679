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
from training.retrain import Retrained, due, retrain
from training.retrain import history as model_history
from training.retrain import rollback as rollback_model
from training.risk_evaluation import SplitResult, SplitSummary, of_best, summarise
from training.risk_evaluation import plot as plot_risk
from training.risk_evaluation import run as run_risk
from training.risk_evaluation import targets as risk_targets
from training.risk_evaluation import write_results as write_risk_results
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
    "Retrained",
    "SplitResult",
    "SplitSummary",
    "Target",
    "WhatIfOutcome",
    "WhatIfRow",
    "accepted_records",
    "compare",
    "due",
    "evaluation_table",
    "fmt_delay",
    "gauge_cells",
    "gauge_false_rates",
    "gauge_targets",
    "judge",
    "model_history",
    "of_best",
    "plot_evaluation",
    "plot_gauges",
    "plot_matrix",
    "plot_risk",
    "pooled",
    "read_ground_truth",
    "recorded_examples",
    "replay_fleet",
    "replay_policies",
    "retrain",
    "risk_auc",
    "risk_targets",
    "rollback_model",
    "run_gauges",
    "run_matrix",
    "run_risk",
    "stored_decisions",
    "stored_stream",
    "summarise",
    "targets",
    "train_anomaly",
    "train_risk",
    "train_risk_from_db",
    "worst_cells",
    "write_gauge_cells",
    "write_matrix_cells",
    "write_risk_results",
]
