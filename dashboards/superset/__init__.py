"""Superset as code: the warehouse connection, datasets, charts and dashboards.

The YAML files in this folder declare them; :mod:`dashboards.superset.bundle` turns
them into one of Superset's import bundles (stable UUIDs, so importing again updates
in place) and :mod:`dashboards.superset.provision` sends it through the REST API.
"""
