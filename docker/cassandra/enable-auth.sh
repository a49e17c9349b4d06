#!/bin/sh
# Turn on password authentication and role-based authorisation in a cassandra.yaml,
# in either of its forms (`authenticator: AllowAllAuthenticator`, or 5.0's
# `authenticator:` + `class_name: AllowAllAuthenticator`), and fail if it did not.
set -eu
conf="${1:-/etc/cassandra/cassandra.yaml}"
sed -i -E \
    -e '/^[^#]*AllowAllAuthenticator/ s/AllowAllAuthenticator/PasswordAuthenticator/' \
    -e '/^[^#]*AllowAllAuthorizer/ s/AllowAllAuthorizer/CassandraAuthorizer/' \
    "$conf"
grep -Eq '^[^#]*PasswordAuthenticator' "$conf"
grep -Eq '^[^#]*CassandraAuthorizer' "$conf"
