"""Composition: a resolved environment spec mapped onto the components; the Pulumi program."""
