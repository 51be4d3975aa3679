"""The fire authority's supervision work after the inspection (监督执法): enforcement cases with the
discretion table and approvals, their documents, the major-hazard listing, credit supervision, and
the responsible unit's own portal.

This module is the stage's face: what other packages may use; the rest of the package is internal.
Other stages act through :class:`Supervision` (typed commands and queries). Logic that decides is pure
(:mod:`supervision.cases`, :mod:`supervision.credit`, :mod:`supervision.discretion`); the ``*_store``
modules, the only psycopg users, keep it in PostgreSQL with an audit entry for every step.
"""

from supervision.case_store import Case, CaseStep
from supervision.cases import STEP_KINDS, StepKind
from supervision.credit_store import review_chore
from supervision.discretion import Circumstance, DiscretionTable
from supervision.discretion import load as load_discretion
from supervision.discretion import shipped as shipped_discretion
from supervision.documents import html as document_html
from supervision.documents import pdf as document_pdf
from supervision.errors import CaseError
from supervision.office import Credit, Row, SelfCheck, Supervision
from supervision.publication_store import Kind as PublicationKind
from supervision.publication_store import as_csv as publication_as_csv

__all__ = [
    "STEP_KINDS",
    "Case",
    "CaseError",
    "CaseStep",
    "Circumstance",
    "Credit",
    "DiscretionTable",
    "PublicationKind",
    "Row",
    "SelfCheck",
    "StepKind",
    "Supervision",
    "document_html",
    "document_pdf",
    "load_discretion",
    "publication_as_csv",
    "review_chore",
    "shipped_discretion",
]
