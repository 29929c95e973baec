"""One person across agencies: a Splink model, a person index with stable ids, a review queue."""
