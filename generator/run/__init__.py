"""Stage 2, the models: built with weights and target layer, images prepared, models run; the result types."""
