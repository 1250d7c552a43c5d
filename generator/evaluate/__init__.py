"""Between the models and the explanations, the set: accuracy, per class, confusion, agreement, calibration."""
