"""Data files of the GPU catalogue (:mod:`components.catalog`) and the tool that refreshes them.

The files are package data (``pyproject.toml``); ``README.md`` here says where each comes from.
"""
