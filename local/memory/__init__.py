"""The in-memory backend of the local harness: the store contract of `infra.store.port` without moto, and
the notifier's AWS services as recording stand-ins, for replays of any length."""
