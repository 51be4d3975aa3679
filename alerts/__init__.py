"""Alerts: routing to responsible inspectors, grouping, escalation, delivery channels, and the
dual-prevention schedule with hazards and inspector task lists.

A library: the process that runs it is :mod:`firewarden.processes.alerts`; the console acts through
:mod:`alerts.actions`.
"""
