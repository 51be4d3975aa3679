"""Fitting the models with scikit-learn, and reading the fitted estimators' parameters out.

Scoring evaluates plain parameters (:class:`scoring.risk.RiskModel`,
:class:`scoring.anomaly.MetricModel`); this module is where scikit-learn fits them. Each ``fit_*``
returns the parameters together with the estimator they came from, so that a test can hold the two
to the same answers.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.calibration import CalibratedClassifierCV  # type: ignore[import-untyped]
from sklearn.covariance import EllipticEnvelope  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]
from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

from scoring import AnomalyModel, Fold, MetricModel, RiskInputs, RiskModel, features

MIN_WINDOWS = 50
"""A metric with fewer windows of normal operation gets no envelope."""


def fit_risk(
    version: str, rows: Sequence[RiskInputs], labels: Sequence[bool]
) -> tuple[RiskModel, CalibratedClassifierCV]:
    """A logistic regression calibrated with isotonic regression over 5 folds.

    The features are standardised and the solver runs to a tight tolerance, so the fit is the optimum
    itself, not wherever the solver stopped: the same on every CPU (unscaled, lbfgs stopped at different
    points on AMD and Intel BLAS kernels, and the shipped defaults could not be reproduced). Each fold's
    scaling is folded into its coefficients, so scoring reads raw features."""
    x = np.asarray([features(r) for r in rows])
    logistic = LogisticRegression(C=1.0, max_iter=10_000, tol=1e-12)
    classifier = CalibratedClassifierCV(make_pipeline(StandardScaler(), logistic), method="isotonic", cv=5)
    classifier.fit(x, np.asarray(labels, dtype=int))
    folds = []
    for fold in classifier.calibrated_classifiers_:
        [isotonic] = fold.calibrators
        scaler, fitted = fold.estimator[0], fold.estimator[-1]
        coef = np.asarray(fitted.coef_[0], dtype=float) / scaler.scale_
        folds.append(
            Fold(
                coef,
                float(fitted.intercept_[0] - coef @ scaler.mean_),
                np.asarray(isotonic.X_thresholds_, dtype=float),
                np.asarray(isotonic.y_thresholds_, dtype=float),
            )
        )
    return RiskModel(version, folds, x.mean(axis=0)), classifier


def risk_auc(model: RiskModel, rows: Sequence[RiskInputs], labels: Sequence[bool]) -> float:
    """The area under the ROC curve of ``model`` on ``rows`` with outcomes ``labels``."""
    return float(roc_auc_score(np.asarray(labels, dtype=int), model.probabilities(rows)))


def fit_metric(rows: np.ndarray, contamination: float = 0.002) -> tuple[MetricModel, EllipticEnvelope]:
    """One metric's envelope. Raises ValueError when the windows barely vary (a metric that sits
    still in normal operation, such as a battery)."""
    envelope = EllipticEnvelope(contamination=contamination, support_fraction=0.9, random_state=0)
    # A whisper of noise keeps the covariance full rank where a feature is nearly constant.
    jitter = np.random.default_rng(0).normal(0.0, 1e-3, rows.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            envelope.fit(rows + jitter)
        except UserWarning as warning:
            raise ValueError(str(warning)) from None
    scale = np.sqrt(np.diag(envelope.covariance_))
    scale = np.where(scale > 0, scale, 1e-9)
    model = MetricModel(
        location=tuple(float(v) for v in envelope.location_),  # type: ignore[arg-type]
        precision=tuple(tuple(float(v) for v in row) for row in envelope.precision_),  # type: ignore[arg-type]
        offset=float(envelope.offset_),
        scale=tuple(float(v) for v in scale),  # type: ignore[arg-type]
    )
    return model, envelope


def fit_anomaly(
    version: str, windows: Mapping[str, Sequence[tuple[float, float, float]]]
) -> tuple[AnomalyModel, dict[str, str]]:
    """Per-metric envelopes, and for each metric left without one, why."""
    metrics: dict[str, MetricModel] = {}
    skipped: dict[str, str] = {}
    for metric, rows in sorted(windows.items()):
        if len(rows) < MIN_WINDOWS:
            skipped[metric] = f"only {len(rows)} windows"
            continue
        try:
            metrics[metric], _ = fit_metric(np.asarray(rows))
        except ValueError as error:
            skipped[metric] = str(error)
    return AnomalyModel(version, metrics), skipped
