"""The set: what is measured over every case's predictions, and which cases are explained (no model runs)."""
