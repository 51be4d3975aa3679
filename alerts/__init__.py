"""Alerts: routing to responsible inspectors, grouping, escalation, delivery channels, and the
dual-prevention schedule with hazards and inspector task lists.

Empty until the alerts issue lands; the package exists so the layout of the design card holds.
"""
