"""The fire authority's supervision work after the inspection (监督执法): enforcement cases with the
discretion table and approvals, their documents, the major-hazard listing, credit supervision, and
the responsible unit's own portal. Logic that decides is pure (:mod:`supervision.cases`,
:mod:`supervision.credit`, :mod:`supervision.discretion`); the ``*_store`` modules keep it in
PostgreSQL with an audit entry for every step."""
