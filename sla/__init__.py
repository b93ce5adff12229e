"""The pure SLA domain: support plans, working-time calendars and the fold of ticket events into clocks.

Nothing here performs I/O, reads the system clock or imports boto3, so it is fast and property-testable.
"""
