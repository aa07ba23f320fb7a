"""Built-in recipes: one TOML file per recipe, shipped as package data."""
