"""Superset settings for the compose deployment; every secret comes from the environment."""

import os

# Superset refuses to start with its built-in default key; .env always provides one.
SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = (
    f"postgresql+psycopg2://superset:{os.environ['SUPERSET_DB_PASSWORD']}@superset-db:5432/superset"
)
# The business analysts' database: the Spark Thrift Server (HiveServer2 protocol).
# Added in the UI or by provisioning as hive://thriftserver:10000/fraudstack?auth=NOSASL
FEATURE_FLAGS = {"DASHBOARD_RBAC": True}
WTF_CSRF_ENABLED = True
