"""What a review uses beyond the engine: documents, notifications, letters, the anonymisation check,
the findings repository, the timescale report and the trace. ``cprflow.bootstrap`` plugs them in."""
