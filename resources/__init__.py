"""Storyloom's resources: default model, sample storyboard, icons and theme (data only)."""
