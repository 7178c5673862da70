"""Business rules: no Tornado, Motor or Redis imports here."""
