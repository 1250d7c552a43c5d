"""Stage 4, the measurements: faithfulness curves, concentration, agreement, stability, sanity check."""
