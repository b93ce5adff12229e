"""The local harness: moto stack, local engine, replay. Never packaged into a Lambda artifact."""
