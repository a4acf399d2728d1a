"""The closed-loop simulation: simulated audiences and `manage.py simulate`.

Kept apart from the product code on purpose: nothing under `prefcontent/` or `ml/`
imports it. It drives the product only through its real services, tasks and workers.
"""
