"""The analysts' Streamlit app over the speed layer's Cassandra tables.

Three pages: live fraud alerts (the default page, at ``/``), order tracking
(``/orders``) and stock alerts (``/stock``). Run by the local stack (``fraudstack up``
starts it on http://127.0.0.1:8501) or by hand: ``streamlit run dashboards/alerts/app.py``.
When login is on (the compose deployment), no page shows anything before the viewer
has logged in.
"""

from __future__ import annotations

import streamlit as st

from dashboards.alerts import live_alerts, login, order_tracking, stock_alerts
from dashboards.alerts.resources import login_required

st.set_page_config(page_title="fraudstack", page_icon=":material/shield:", layout="wide")

PAGES = [
    st.Page(live_alerts.page, title="Live alerts", icon=":material/shield:", default=True),
    st.Page(order_tracking.page, title="Order tracking", icon=":material/local_shipping:",
            url_path="orders"),
    st.Page(stock_alerts.page, title="Stock alerts", icon=":material/inventory_2:",
            url_path="stock"),
]  # fmt: skip


def main() -> None:
    required = login_required()
    # the page a link asks for is resolved first, so it opens once the viewer has logged in
    shown = st.navigation(
        PAGES, position="sidebar" if not required or st.session_state.get(login.USER_KEY)
        else "hidden",
    )  # fmt: skip
    login.gate(required)
    shown.run()


main()
