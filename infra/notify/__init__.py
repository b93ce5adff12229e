"""Delivery of the outbox: alerts to the channels of their route, customer notifications by e-mail.

Each module talks to one kind of endpoint; `delivery` decides what goes where, makes each (effect,
channel) delivery happen once, and records the outcome on the effect's outbox item.
"""
