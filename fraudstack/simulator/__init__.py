"""A labelled e-commerce marketplace: customers, merchants, fraud scenarios, chargebacks."""
