"""Delivery of the outbox: alerts to the channels of their route, customer notifications by e-mail.

Each module talks to one kind of endpoint; `delivery` decides what goes where, makes each (effect,
channel) delivery happen once, in the order the engine decided, and records each outcome on the outbox.
"""
