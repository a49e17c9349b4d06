"""Superset settings of fraudstack's local stack.

Rendered by fraudstack/stack/services/superset.py into <home>/conf/superset/. The secret
key comes from the environment the launcher gives the process (SUPERSET_SECRET_KEY, or
the key generated once in <home>/secrets/), never from this file.
"""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
# Superset's own metadata (users, dashboards, charts): SQLite in the stack's data folder
SQLALCHEMY_DATABASE_URI = "sqlite:///${metadata_db}?check_same_thread=false"
DATA_DIR = "${data_dir}"
UPLOAD_FOLDER = "${data_dir}/uploads/"

# Hive over the Thrift Server answers in seconds, not milliseconds: generous timeouts,
# and one in-process cache (one gunicorn worker) so a dashboard reload is instant.
SUPERSET_WEBSERVER_TIMEOUT = 300
SQLLAB_TIMEOUT = 300
SQLLAB_ASYNC_TIME_LIMIT_SEC = 300
CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 600}
FILTER_STATE_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 86400}
EXPLORE_FORM_DATA_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 86400}
RATELIMIT_STORAGE_URI = "memory://"

# no SQLite (or other local files) as a data source: only the warehouse
PREVENT_UNSAFE_DB_CONNECTIONS = True
# plain http on 127.0.0.1: no HTTPS redirects or HSTS
TALISMAN_ENABLED = False
SESSION_COOKIE_SECURE = False
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None

ROW_LIMIT = 50000
SUPERSET_LOG_LEVEL = "INFO"
