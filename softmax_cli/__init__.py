"""softmax: turn scores (logits) into probabilities, log-probabilities and losses."""
