"""Superset settings for the compose deployment; every secret comes from the environment."""

import os

from flask_appbuilder.security.manager import AUTH_DB

# Superset refuses to start with its built-in default key; .env always provides one.
SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = (
    f"postgresql+psycopg2://superset:{os.environ['SUPERSET_DB_PASSWORD']}@superset-db:5432/superset"
)
# The business analysts' database: the Spark Thrift Server (HiveServer2 protocol).
# Added in the UI or by provisioning as hive://thriftserver:10000/fraudstack?auth=NOSASL
FEATURE_FLAGS = {"DASHBOARD_RBAC": True}
WTF_CSRF_ENABLED = True

# Everyone logs in: users and hashed passwords in the metadata database, no self
# sign-up, and an anonymous visitor gets no role at all (Superset's Public role stays
# empty; no embedded dashboards, whose guest tokens would bypass the login).
AUTH_TYPE = AUTH_DB
AUTH_USER_REGISTRATION = False
PUBLIC_ROLE_LIKE = None
AUTH_RATE_LIMITED = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# no SQLite (or other local files) as a data source: only the warehouse
PREVENT_UNSAFE_DB_CONNECTIONS = True
