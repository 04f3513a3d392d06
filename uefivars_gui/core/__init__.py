"""Values and their meaning. Pure Python, standard library only."""
