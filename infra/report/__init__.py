"""The monthly report (SPEC section 9) as the ReportFunction builds it: from the decided-cycle index to S3,
and the JSON, CSV and HTML writers it shares with `sla-engine report`."""
